from django.core.management.base import BaseCommand, CommandError

from market.errors import MarketError
from market.services.secrets_rotation import secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt the providers' endpoints and tokens and the archive's objects with WEB3_SECRETS_KEY "
        "(decrypting with WEB3_SECRETS_KEY_OLD). Safe to stop and run again; prints counts only."
    )

    def handle(self, *args, **options):
        try:
            secrets_rotate(report=lambda progress: self.stdout.write(progress.line()))
        except MarketError as exc:
            raise CommandError(f"{exc.message}; what was done so far stays done: run the command again") from None
        self.stdout.write("ok: everything is encrypted with the current key; WEB3_SECRETS_KEY_OLD may be removed")
