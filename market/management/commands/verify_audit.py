from django.core.management.base import BaseCommand

from market.audit.verify import problems


class Command(BaseCommand):
    help = "Recompute the audit chain and every balance; print the first mismatch and exit 1, or 'ok'."

    def handle(self, *args, **options):
        for problem in problems():
            self.stderr.write(problem)
            raise SystemExit(1)
        self.stdout.write("ok")
