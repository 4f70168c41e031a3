"""The nonce store: each nonce holds the sha256 of the message issued with it (the database refuses
anything else), the migration that added it goes back and forth, and the purge still forgets old
nonces."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from eth_account import Account

from tests.conftest import sign
from web3api.identity.services import purge_expired
from web3api.models import SiweNonce

BEFORE = [("web3api", "0001_initial")]
AFTER = [("web3api", "0002_siwenonce_message_sha256")]


def nonce_row(**fields) -> dict:
    now = timezone.now()
    row = {
        "nonce": "ab" * 16,
        "address": "0x" + "ab" * 20,
        "chain_id": 1,
        "domain": "testserver",
        "uri": "http://testserver",
        "issued_at": now,
        "expires_at": now + timedelta(minutes=5),
    }
    row.update(fields)
    return row


@pytest.mark.django_db
def test_a_challenge_stores_the_digest_of_its_exact_message(anon):
    r = anon.call("web3.siwe.challenge", {"address": Account.create().address}).result
    stored = SiweNonce.objects.get(nonce=r["nonce"])
    assert stored.message_sha256 == hashlib.sha256(r["message"].encode()).hexdigest()


@pytest.mark.django_db
@pytest.mark.parametrize("digest", ["", "AB" * 32, "ab" * 31, "xy" * 32])
def test_the_database_refuses_a_nonce_without_a_sha256_digest(digest):
    with pytest.raises(IntegrityError), transaction.atomic():
        SiweNonce.objects.create(**nonce_row(message_sha256=digest))


@pytest.mark.keypath
@pytest.mark.django_db(transaction=True)
def test_the_digest_migration_goes_back_and_forth():
    executor = MigrationExecutor(connection)
    try:
        # given the schema before the digest, holding a nonce issued then
        executor.migrate(BEFORE)
        old_apps = executor.loader.project_state(BEFORE).apps
        old_apps.get_model("web3api", "SiweNonce").objects.create(**nonce_row())

        # when migrated forward
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)

        # then that nonce is gone (no message was kept for it, so it could never sign in) and new
        # nonces carry their digest
        assert not SiweNonce.objects.exists()
        SiweNonce.objects.create(**nonce_row(nonce="cd" * 16, message_sha256="0" * 64))

        # and going back keeps the nonces, without the column
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        old_apps = executor.loader.project_state(BEFORE).apps
        assert list(old_apps.get_model("web3api", "SiweNonce").objects.values_list("nonce", flat=True)) == ["cd" * 16]
        with connection.cursor() as cursor:
            columns = [c.name for c in connection.introspection.get_table_description(cursor, "web3api_siwenonce")]
        assert "message_sha256" not in columns
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("web3api"))


@pytest.mark.django_db
def test_the_purge_forgets_used_and_expired_nonces_and_signing_in_still_works(anon):
    # given one nonce used for a sign-in and one left unused
    account = Account.create()
    used = anon.call("web3.siwe.challenge", {"address": account.address}).result
    assert (
        anon.call("web3.siwe.verify", {"message": used["message"], "signature": sign(account, used["message"])}).status
        == 200
    )
    anon.call("web3.siwe.challenge", {"address": account.address})

    # when the purge runs more than an hour after they expired
    later = timezone.now() + timedelta(hours=1, minutes=6)
    with time_machine.travel(later, tick=False):
        purged = purge_expired()

        # then both nonces are forgotten, and a new challenge signs in
        assert purged["nonces"] == 2
        assert not SiweNonce.objects.exists()
        fresh = anon.call("web3.siwe.challenge", {"address": account.address}).result
        r = anon.call("web3.siwe.verify", {"message": fresh["message"], "signature": sign(account, fresh["message"])})
        assert r.status == 200, r.body
