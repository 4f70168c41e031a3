from django.core.management.base import BaseCommand

from web3api.demo.provider import DEFAULT_PORT, serve


class Command(BaseCommand):
    help = "Serve the demo market's local provider on loopback (model, search, custom JSON) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=DEFAULT_PORT)

    def handle(self, *args, port, **options):
        httpd = serve(port)
        self.stdout.write(f"demo provider listening on loopback port {port}")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            httpd.server_close()
