from django.conf import settings
from django.core.management.base import BaseCommand

from openclaw.keys import init_keys


class Command(BaseCommand):
    help = "Create whichever generated keys are missing (exclusive creation; never overwrites)."

    def handle(self, *args, **options):
        created = init_keys(settings.VAR_DIR)
        if created:
            self.stdout.write("created: " + ", ".join(created))
        else:
            self.stdout.write("all keys present")
