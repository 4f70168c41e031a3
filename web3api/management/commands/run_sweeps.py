import json

from django.core.management.base import BaseCommand, CommandError

from openclaw.periodic import run_all


class Command(BaseCommand):
    help = "Run every periodic job once, as Celery beat would. Safe at any time."

    def handle(self, *args, **options):
        report = run_all()
        for name, outcome in report.items():
            mark = "ok" if outcome["ok"] else "FAILED"
            self.stdout.write(f"{name}: {mark} {json.dumps(outcome['result'], default=str)}")
        if not all(o["ok"] for o in report.values()):
            raise CommandError("some periodic jobs failed")
