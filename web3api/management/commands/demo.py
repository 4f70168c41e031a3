from django.core.management.base import BaseCommand

from web3api.demo import load_demo


class Command(BaseCommand):
    help = "Load a small demo market (actors, a staff console user, and each capability's objects)."

    def handle(self, *args, **options):
        load_demo(self.stdout.write)
        self.stdout.write("demo ready")
