from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from market.backup import BackupError, backup_write


class Command(BaseCommand):
    help = (
        "Write a consistent copy of the database (SQLite's online backup API, or pg_dump) and its "
        "manifest into a new folder, while the market runs. The keys are not included: back up "
        "var/keys (or the key settings) separately."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="a new or empty folder to write the backup into")

    def handle(self, *args, folder, **options):
        try:
            manifest = backup_write(dest=Path(folder))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"backup written: {manifest['file']} ({manifest['size']} bytes, sha256 {manifest['sha256'][:16]}...), "
            f"{manifest['store']}, audit head seq {manifest['auditHeadSeq']}, taken {manifest['createdAt']}"
        )
