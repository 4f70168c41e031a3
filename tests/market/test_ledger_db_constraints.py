"""The database itself guards the ledger (DESIGN.md "Money": append-only, CheckConstraints), and
`verify_audit` catches what a person with database access could still do (drop a trigger, edit).

Every direct write goes through raw SQL on the test's connection, in a savepoint, so a refused
statement leaves the test transaction usable on PostgreSQL too.
"""

from __future__ import annotations

from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from market.models import Account, AuditEvent, Settlement, Transfer
from market.services import escrow, ledger

A = "0x" + "a1" * 20
B = "0x" + "b2" * 20

# The append-only triggers of migration 0002, per vendor: (table, the trigger that refuses UPDATE).
UPDATE_TRIGGERS = {
    "postgresql": {
        "market_transfer": "market_transfer_append_only",
        "market_auditevent": "market_auditevent_append_only",
    },
    "sqlite": {"market_transfer": "market_transfer_no_update", "market_auditevent": "market_auditevent_no_update"},
}


def sql(statement: str, params=None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def refused(statement: str, params=None, error: type[Exception] = IntegrityError) -> str:
    """Run a statement that the database must refuse; returns the error text."""
    with pytest.raises(error) as info, transaction.atomic():
        sql(statement, params)
    return str(info.value)


def set_maintenance(allow_delete: bool) -> None:
    sql("UPDATE market_maintenance SET allow_delete = %s WHERE id = 1", [allow_delete])


def verify() -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue().strip(), err.getvalue().strip()


@contextmanager
def trigger_dropped(table: str):
    """Drop the UPDATE trigger of `table` inside a savepoint that is rolled back afterwards: the
    drop and every edit made meanwhile are undone (DDL is transactional on PostgreSQL and SQLite)."""
    trigger = UPDATE_TRIGGERS[connection.vendor][table]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            sql(f"DROP TRIGGER {trigger} ON {table}")
        else:
            sql(f"DROP TRIGGER {trigger}")
        yield
        transaction.set_rollback(True)


@pytest.fixture
def funded(db):
    """A deposit to A, a lock A -> B partly released: transfers of every kind and their events."""
    deposit = ledger.deposit(actor_id=A, amount=1_000_000, currency="USDC", reason="test")
    s = escrow.escrow_lock(payer_actor_id=A, payee_actor_id=B, amount=400_000, currency="USDC", by_actor_id=A)
    escrow.escrow_release(settlement_id=s.settlement_id, amount=100_000, by_actor_id="system")
    assert verify() == (0, "ok", "")
    return deposit, Settlement.objects.get(pk=s.pk)


# --- append-only ------------------------------------------------------------------------------------


@pytest.mark.keypath
def test_update_of_a_transfer_is_refused(funded):
    deposit, _ = funded
    message = refused("UPDATE market_transfer SET amount = amount + 1 WHERE transfer_id = %s", [deposit.transfer_id])
    assert "append-only" in message
    assert Transfer.objects.get(pk=deposit.pk).amount == 1_000_000


@pytest.mark.keypath
def test_update_of_an_audit_event_is_refused(funded):
    event = AuditEvent.objects.order_by("seq").first()
    message = refused("UPDATE market_auditevent SET action = 'forged' WHERE id = %s", [event.pk])
    assert "append-only" in message
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_orm_update_and_delete_are_refused_too(funded):
    deposit, _ = funded
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.filter(pk=deposit.pk).update(reference="forged")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize("model", [Transfer, AuditEvent])
def test_delete_is_refused_unless_the_maintenance_flag_is_set(funded, model):
    table = model._meta.db_table
    before = model.objects.count()
    assert before > 0

    # given the flag off (as in normal operation), a DELETE is refused
    assert "append-only" in refused(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    assert model.objects.count() == before

    # when the flag is set (inside this test's transaction, rolled back with it)
    set_maintenance(True)
    with transaction.atomic():
        sql("DELETE FROM market_auditparty")
        sql("UPDATE market_settlement SET lock_transfer_id = NULL")
        deleted = sql(f"DELETE FROM {table}")  # noqa: S608
        assert model.objects.count() == 0
        transaction.set_rollback(True)

    # then it went through
    assert deleted == before
    assert model.objects.count() == before


def test_update_is_refused_even_with_the_maintenance_flag(funded):
    deposit, _ = funded
    set_maintenance(True)
    refused("UPDATE market_transfer SET reference = 'x' WHERE id = %s", [deposit.pk])


# --- CheckConstraints ----------------------------------------------------------------------------------


@pytest.mark.keypath
def test_a_direct_write_that_makes_a_balance_negative_is_refused(funded):
    account = Account.objects.get(actor_id=A, kind="actor")
    # posted debits beyond credits
    message = refused("UPDATE market_account SET debits_posted = credits_posted + 1 WHERE id = %s", [account.pk])
    assert "no_overdraft" in message
    # pending debits that take the available balance below zero
    refused("UPDATE market_account SET debits_pending = credits_posted - debits_posted + 1 WHERE id = %s", [account.pk])
    # and through the ORM
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(debits_posted=account.credits_posted * 2)
    assert Account.objects.get(pk=account.pk).available == 600_000


def test_the_external_account_may_go_below_zero(funded):
    external = Account.objects.get(kind="external", currency="USDC")
    assert external.balance == -1_000_000


@pytest.mark.parametrize(
    ("status", "released", "refunded"),
    [
        ("settlement_locked", 100_000, 0),  # something was released
        ("settlement_released", 100_000, 0),  # remaining > 0 yet closed as released
        ("settlement_refunded", 100_000, 0),  # refunded as nothing came back
        ("settlement_partially_released", 0, 0),  # nothing released
        ("settlement_partially_released", 400_000, 0),  # nothing remains
        ("settlement_released", 300_000, 100_000),  # closed with a refund, so it is refunded
    ],
)
def test_a_settlement_whose_status_disagrees_with_its_amounts_is_refused(funded, status, released, refunded):
    _, s = funded
    message = refused(
        "UPDATE market_settlement SET status = %s, released = %s, refunded = %s WHERE id = %s",
        [status, released, refunded, s.pk],
    )
    assert "status_matches_amounts" in message
    assert Settlement.objects.get(pk=s.pk).status == "settlement_partially_released"


def test_settlement_amounts_beyond_the_lock_are_refused(funded):
    _, s = funded
    refused("UPDATE market_settlement SET released = 500000 WHERE id = %s", [s.pk])
    refused(
        "UPDATE market_settlement SET status = 'settlement_refunded', released = 100000, refunded = 400000 "
        "WHERE id = %s",
        [s.pk],
    )


def test_a_transfer_of_zero_or_to_itself_is_refused(funded):
    deposit, _ = funded
    account = deposit.credit_account_id
    columns = "transfer_id, debit_account_id, credit_account_id, amount, currency, kind, code, reference, created_at"
    refused(
        f"INSERT INTO market_transfer ({columns}) VALUES ('tr_x', %s, %s, 0, 'USDC', 'posted', 'transfer', "  # noqa: S608
        "'', CURRENT_TIMESTAMP)",
        [deposit.debit_account_id, account],
    )
    refused(
        f"INSERT INTO market_transfer ({columns}) VALUES ('tr_y', %s, %s, 5, 'USDC', 'posted', 'transfer', "  # noqa: S608
        "'', CURRENT_TIMESTAMP)",
        [account, account],
    )


# --- verify_audit catches tampering --------------------------------------------------------------------


@pytest.mark.keypath
def test_verify_audit_catches_a_tampered_transfer(funded):
    deposit, _ = funded
    event = AuditEvent.objects.get(object_type="transfer", object_id=deposit.transfer_id)

    with trigger_dropped("market_transfer"):
        # when a transfer is edited behind the services' back
        assert sql("UPDATE market_transfer SET amount = 2000000 WHERE id = %s", [deposit.pk]) == 1

        # then verify_audit fails and names the transfer and the event that recorded it
        code, out, err = verify()
        assert code == 1
        assert out == ""
        assert deposit.transfer_id in err
        assert f"seq {event.seq} ({event.event_id})" in err

        # and even with the accounts' totals edited to match, the audit event still disagrees
        sql(
            "UPDATE market_account SET credits_posted = credits_posted + 1000000 WHERE id = %s",
            [deposit.credit_account_id],
        )
        sql(
            "UPDATE market_account SET debits_posted = debits_posted + 1000000 WHERE id = %s",
            [deposit.debit_account_id],
        )
        code, _, err = verify()
        assert code == 1
        assert deposit.transfer_id in err

    # and once the savepoint is rolled back the trigger is back and all is well again
    refused("UPDATE market_transfer SET amount = 2000000 WHERE id = %s", [deposit.pk])
    assert verify() == (0, "ok", "")


def test_verify_audit_names_the_account_whose_totals_disagree(funded):
    # given an account's totals edited (accounts are not append-only: totals move with every transfer)
    account = Account.objects.get(actor_id=B, kind="actor")
    sql("UPDATE market_account SET credits_posted = credits_posted - 1 WHERE id = %s", [account.pk])

    # then verify_audit names exactly that account
    code, _, err = verify()
    assert code == 1
    assert err.startswith(f"account {account}")


@pytest.mark.keypath
@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("payload", '{"forged":true}', "payload does not match its sha256"),
        ("actor_id", "0x" + "ee" * 20, "hash does not match its fields"),
        ("prev_hash", "f" * 64, "prev_hash breaks the chain"),
    ],
)
def test_verify_audit_catches_a_tampered_audit_event(funded, column, value, problem):
    # given the third event of the chain
    event = AuditEvent.objects.get(seq=2)

    with trigger_dropped("market_auditevent"):
        # when one of its columns is edited
        assert sql(f"UPDATE market_auditevent SET {column} = %s WHERE id = %s", [value, event.pk]) == 1  # noqa: S608

        # then verify_audit fails at exactly that event
        code, out, err = verify()
        assert (code, out) == (1, "")
        assert err == f"audit event seq 2 ({event.event_id}): {problem}"

    # and the trigger is back
    refused(f"UPDATE market_auditevent SET {column} = %s WHERE id = %s", [value, event.pk])  # noqa: S608
    assert verify() == (0, "ok", "")


def test_verify_audit_catches_a_deleted_audit_event(funded):
    # given the maintenance flag set (retention tooling) and one event deleted from the middle
    set_maintenance(True)
    event = AuditEvent.objects.get(seq=1)
    sql("DELETE FROM market_auditparty WHERE event_id = %s", [event.pk])
    sql("DELETE FROM market_auditevent WHERE id = %s", [event.pk])

    # then the gap is reported
    code, _, err = verify()
    assert code == 1
    assert err == "audit event seq 1 is missing (found 2)"


def test_database_error_is_the_base_of_what_the_triggers_raise(funded):
    """Callers may catch DatabaseError generally; the triggers raise an IntegrityError subclass of it."""
    deposit, _ = funded
    refused("UPDATE market_transfer SET amount = 1 WHERE id = %s", [deposit.pk], error=DatabaseError)
