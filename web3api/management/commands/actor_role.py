import re

from django.core.management.base import BaseCommand, CommandError

from web3api.identity.services import role_grant, role_revoke
from web3api.models import ActorRole


class Command(BaseCommand):
    help = "Grant or remove an actor's role: actor_role <actorId> --add|--remove staff|arbitrator"

    def add_arguments(self, parser):
        parser.add_argument("actor_id")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--add", choices=ActorRole.Role.values)
        group.add_argument("--remove", choices=ActorRole.Role.values)

    def handle(self, *args, actor_id, add=None, remove=None, **options):
        actor_id = actor_id.lower()
        if not re.fullmatch(r"0x[0-9a-f]{40}", actor_id):
            raise CommandError("actorId must be a 0x-prefixed 40-hex wallet address")
        if add:
            changed = role_grant(actor_id=actor_id, role=add)
            self.stdout.write(f"{actor_id}: {add} {'granted' if changed else 'already held'}")
        else:
            changed = role_revoke(actor_id=actor_id, role=remove)
            self.stdout.write(f"{actor_id}: {remove} {'removed' if changed else 'was not held'}")
