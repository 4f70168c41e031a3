"""manage.py rotate_key checkpoint|anchor|operator [--generate]: switch a signing key and record it.

With --generate a new key is written to its file under var/keys/ (the previous one kept as
<file>.retired-<n>); without it, the key the settings give now (the environment, after a
restart with the new value) is recorded. Prints addresses and next steps, never a key.
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from market.audit.checkpoints import CheckpointSignerNotRecorded
from market.services.key_rotation import KEY_SETTINGS, signer_rotate, vault_operator
from openclaw.keys import key_file_for, new_chain_key, replace_key_file

NEXT_STEPS = {
    "checkpoint": "restart the workers and beat: until then sealing waits for the new key (nothing is lost)",
    "anchor": "fund the new address with gas for anchoring, then restart the workers and beat",
    "operator": (
        "fund the new address with gas; when no withdrawal of the previous key is in flight, the vault's "
        "owner calls setOperator(new address); then restart the workers and beat"
    ),
}


class Command(BaseCommand):
    help = "Switch the checkpoint, anchor or operator key used for new signatures, and record it."

    def add_arguments(self, parser):
        parser.add_argument("purpose", choices=sorted(KEY_SETTINGS))
        parser.add_argument("--generate", action="store_true", help="write a new key to its file under var/keys/")

    def handle(self, *args, purpose, generate, **options):
        name = KEY_SETTINGS[purpose]
        if generate:
            if os.environ.get(name, "").strip():
                raise CommandError(
                    f"{name} is set in the environment: put the new key there, restart, then run "
                    f"rotate_key {purpose} without --generate"
                )
            if purpose == "checkpoint":  # what the old key may still seal, it seals first
                try:
                    signer_rotate(purpose)
                except CheckpointSignerNotRecorded as exc:
                    raise CommandError(str(exc)) from None
                except ValueError:
                    pass  # no key yet: nothing to seal with
            value = new_chain_key()
            retired = replace_key_file(settings.VAR_DIR, name, value)
            setattr(settings, name, value)
            self.stdout.write(
                f"wrote a new key to var/keys/{key_file_for(name)}"
                + (f" (previous kept as {retired})" if retired else "")
            )
        try:
            rotation = signer_rotate(purpose)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if rotation.changed:
            line = f"{purpose} key: {rotation.previous or '(none recorded)'} -> {rotation.address}"
            if purpose == "checkpoint":
                line += f", signing the checkpoints after tree size {rotation.from_tree_size}"
            self.stdout.write(line)
        else:
            self.stdout.write(f"{purpose} key {rotation.address} is already the recorded one")
        if rotation.in_flight:
            self.stdout.write(
                f"{rotation.in_flight} transaction(s) signed by a previous key are in flight; "
                "they are rebroadcast with their stored bytes"
            )
        if purpose == "operator":
            current = vault_operator()
            if current is not None:
                said = "the new key" if current == rotation.address else f"{current}, not yet the new key"
                self.stdout.write(f"the vault's operator is {said}")
        if rotation.changed:
            self.stdout.write("next: " + NEXT_STEPS[purpose])
