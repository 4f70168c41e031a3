from django.core.management.base import BaseCommand, CommandError

from web3api.mcp.server import serve_http, serve_stdio


class Command(BaseCommand):
    help = (
        "Serve the market as an MCP server: on stdio (bearer token in WEB3_AGENT_TOKEN), or with "
        "--http HOST:PORT over streamable HTTP at /mcp (bearer token in each request's Authorization header)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--http", metavar="HOST:PORT", help="serve streamable HTTP at /mcp instead of stdio")

    def handle(self, *args, http=None, **options):
        if http is None:
            serve_stdio()
            return
        host, sep, port = http.rpartition(":")
        if not sep or not port.isdigit():
            raise CommandError("--http takes HOST:PORT, e.g. 127.0.0.1:8765")
        serve_http(host.strip("[]") or "127.0.0.1", int(port))
