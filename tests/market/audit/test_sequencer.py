"""The audit sequencer: writers insert leaves without a position and take no lock; the sequencer
gives the committed ones seq, prev_hash and hash, once, in id order; the database allows that one
UPDATE and no other."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from market.audit.hashchain import GENESIS_HASH, content_hash, event_hash, event_time_text
from market.audit.log import audit_record
from market.audit.sequencer import audit_sequence
from market.audit.verify import problems
from market.models import AuditEvent, AuditHead
from tests.conftest import in_thread

A = "0x" + "a1" * 20


def write(n: int, start: threading.Barrier | None = None, tag: str = "t") -> int:
    if start:
        start.wait(10)
    for i in range(n):
        with transaction.atomic():
            audit_record(actor_id=A, action="test.note", object_type="task", object_id=f"{tag}{i}", payload={"i": i})
    return n


def refused(statement: str, params) -> str:
    with pytest.raises(IntegrityError) as info, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
    return str(info.value)


@pytest.mark.keypath
def test_leaves_are_written_without_a_position_and_sequenced_in_id_order(db):
    # when: three leaves are written
    write(3)
    leaves = list(AuditEvent.objects.order_by("pk"))
    # then: each has its content hash and no position yet
    for ev in leaves:
        assert (ev.seq, ev.prev_hash, ev.hash) == (None, None, None)
        assert ev.content_hash == content_hash(
            event_id=ev.event_id,
            actor_id=ev.actor_id,
            action=ev.action,
            object_type=ev.object_type,
            object_id=ev.object_id,
            payload_sha256=ev.payload_sha256,
            created_at=event_time_text(ev.created_at),
        )
    # when: the sequencer runs (twice: the second finds nothing)
    assert audit_sequence() == 3
    assert audit_sequence() == 0
    # then: positions 0..2 by id, each chained to the previous, and the head after the last
    prev = GENESIS_HASH
    for seq, ev in enumerate(AuditEvent.objects.order_by("pk")):
        assert (ev.seq, ev.prev_hash) == (seq, prev)
        assert ev.hash == event_hash(
            seq=seq,
            event_id=ev.event_id,
            actor_id=ev.actor_id,
            action=ev.action,
            object_type=ev.object_type,
            object_id=ev.object_id,
            payload_sha256=ev.payload_sha256,
            prev_hash=prev,
            created_at=event_time_text(ev.created_at),
        )
        prev = ev.hash
    head = AuditHead.objects.get(pk=1)
    assert (head.next_seq, head.last_hash) == (3, prev)
    # and leaves written later continue the chain
    write(2, tag="u")
    assert audit_sequence() == 2
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == [0, 1, 2, 3, 4]
    assert list(problems()) == []


@pytest.mark.keypath
def test_the_database_allows_only_the_one_sequencing_update(db):
    write(2)
    first, second = AuditEvent.objects.order_by("pk")
    # a position with other columns changed at the same time is refused
    message = refused(
        "UPDATE market_auditevent SET seq = 0, prev_hash = %s, hash = %s, action = 'forged' WHERE id = %s",
        [GENESIS_HASH, "ab" * 32, first.pk],
    )
    assert "append-only" in message
    # half a position is refused (the check constraint: all three or none)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE market_auditevent SET seq = 0 WHERE id = %s", [first.pk])
    # the sequencer's update goes through
    assert audit_sequence() == 2
    first.refresh_from_db()
    # and once a leaf has its position, no update is allowed, not even to another position
    assert "append-only" in refused(
        "UPDATE market_auditevent SET seq = 7, prev_hash = %s, hash = %s WHERE id = %s",
        [GENESIS_HASH, "cd" * 32, first.pk],
    )
    assert "append-only" in refused("UPDATE market_auditevent SET action = 'forged' WHERE id = %s", [second.pk])
    first.refresh_from_db()
    assert first.seq == 0 and first.action == "test.note"


def test_a_committed_leaf_is_sequenced_right_after_its_commit(transactional_db, settings):
    # given: no gap between the runs after a commit
    settings.WEB3_AUDIT_SEQUENCE_AFTER_COMMIT_GAP_MS = 0
    # when: a transaction writes two leaves and commits (no sequencer is called)
    with transaction.atomic():
        first = audit_record(actor_id=A, action="test.note", object_type="task", object_id="t1")
        second = audit_record(actor_id=A, action="test.note", object_type="task", object_id="t2")
        assert first.seq is None
    # then: its commit ran the sequencer, once for both
    assert list(AuditEvent.objects.order_by("pk").values_list("event_id", "seq")) == [
        (first.event_id, 0),
        (second.event_id, 1),
    ]
    # and a leaf whose transaction rolled back never takes a position
    with transaction.atomic():
        audit_record(actor_id=A, action="test.note", object_type="task", object_id="t3")
        transaction.set_rollback(True)
    assert AuditEvent.objects.count() == 2 and AuditHead.objects.get(pk=1).next_seq == 2


def test_commits_within_the_gap_leave_their_leaves_to_the_next_run(transactional_db, settings):
    # given: a commit just ran the sequencer in this process
    settings.WEB3_AUDIT_SEQUENCE_AFTER_COMMIT_GAP_MS = 0
    write(1, tag="first")
    assert AuditEvent.objects.get(object_id="first0").seq == 0
    # when: more commits follow within the gap
    settings.WEB3_AUDIT_SEQUENCE_AFTER_COMMIT_GAP_MS = 60_000
    write(3, tag="then")
    # then: their leaves wait without a position (no extra transaction per commit) ...
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 3
    # ... until the next run (the periodic job, a seal or a read that needs positions) chains them all
    assert audit_sequence() == 3
    assert list(AuditEvent.objects.order_by("pk").values_list("seq", flat=True)) == [0, 1, 2, 3]
    assert list(problems()) == []
    # and once the gap has passed, a commit runs it again
    settings.WEB3_AUDIT_SEQUENCE_AFTER_COMMIT_GAP_MS = 0
    write(1, tag="later")
    assert AuditEvent.objects.get(object_id="later0").seq == 4


@pytest.mark.concurrency
@pytest.mark.postgres
def test_writers_take_no_global_lock_and_concurrent_sequencers_chain_every_leaf_once(transactional_db):
    # given: a writer holding an open transaction with a leaf in it
    holding, release = threading.Event(), threading.Event()

    def slow_writer():
        with transaction.atomic():
            audit_record(actor_id=A, action="test.note", object_type="task", object_id="slow")
            holding.set()
            release.wait(20)

    slow = in_thread(slow_writer)
    assert holding.wait(20)
    # when: other writers commit meanwhile (they do not wait for it: no lock is shared)
    others = [in_thread(write, 10, None, f"w{k}") for k in range(3)]
    for thread, out in others:
        thread.join(30)
        assert out.get("value") == 10, out
    # and sequencers run at once, beside the ones each commit ran (the held leaf is not committed,
    # so it waits)
    runs = [in_thread(audit_sequence) for _ in range(3)]
    for thread, out in runs:
        thread.join(30)
        assert "error" not in out, out
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 0  # the slow one is not visible yet
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(30))
    release.set()
    slow[0].join(30)
    # then: after its commit it is sequenced (by its own commit's run, or this one), and the chain is whole
    audit_sequence()
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(31))
    assert AuditEvent.objects.get(object_id="slow").seq == 30
    assert list(problems()) == []
