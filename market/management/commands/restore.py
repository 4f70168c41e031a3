from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from market.backup import BackupError, backup_restore, read_manifest


class Command(BaseCommand):
    help = (
        "Replace the database's content with a backup written by `manage.py backup`, after checking "
        "its manifest and digest, then run verify_audit's checks on what was restored. Stop the web "
        "server, workers and beat first."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="the folder `manage.py backup` wrote")
        parser.add_argument("--yes", action="store_true", help="replace the current data without asking")

    def handle(self, *args, folder, yes, **options):
        try:
            manifest = read_manifest(Path(folder))
            if not yes:
                answer = input(
                    f"Replace every row of this market's database with the backup taken {manifest['createdAt']} "
                    f"(audit head seq {manifest['auditHeadSeq']})? Type 'yes': "
                )
                if answer.strip() != "yes":
                    raise CommandError("nothing restored")
            restored = backup_restore(src=Path(folder))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"restored the backup taken {restored.manifest['createdAt']} "
            f"(audit head seq {restored.manifest['auditHeadSeq']})"
        )
        for notice in restored.notices:
            self.stderr.write(f"notice: {notice}")
        if restored.problems is None:
            return
        if restored.problems:
            self.stderr.write(f"verify_audit: {restored.problems[0]}")
            raise SystemExit(1)
        self.stdout.write("verify_audit: ok")
