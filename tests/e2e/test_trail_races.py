"""Races on PostgreSQL: two actors opening the trail of one session at once, and the same bytes
archived by several actors at once."""

import threading

import pytest
from django.utils import timezone

from market.errors import MarketError
from market.ids import new_id
from market.models import ArchiveGrant, ArchiveObject, AuditEvent
from market.selectors import trail as trail_selectors
from market.services import trail as trail_services
from market.services.archive import archive_put
from tests.conftest import in_thread

ACTORS = ["0x" + f"{i:02x}" * 20 for i in range(1, 5)]

pytestmark = [pytest.mark.concurrency, pytest.mark.postgres]


def test_a_session_opened_by_several_actors_at_once_is_one_actors(transactional_db):
    # given
    session_id = new_id("ses")
    start = threading.Barrier(len(ACTORS))

    def ingest(actor_id):
        session = trail_selectors.trail_session(session_id=session_id, actor_id=actor_id, opening=True)
        start.wait()
        event = trail_services.HookEvent("llm_input", timezone.now(), {"who": actor_id})
        return trail_services.hooks_ingest(session=session, actor_id=actor_id, events=[event])

    # when
    runs = [in_thread(ingest, actor) for actor in ACTORS]
    for thread, _ in runs:
        thread.join(30)
    # then
    won = [out for _, out in runs if "value" in out]
    lost = [out["error"] for _, out in runs if "error" in out]
    assert len(won) == 1
    assert all(isinstance(e, MarketError) and e.code == "E_NOT_FOUND" for e in lost)
    owners = set(AuditEvent.objects.filter(object_id=session_id).values_list("actor_id", flat=True))
    assert len(owners) == 1


def test_the_same_bytes_put_at_once_are_one_object_with_a_grant_each(transactional_db):
    # given
    data = b"the same report, uploaded by everyone"
    start = threading.Barrier(len(ACTORS))

    def put(actor_id):
        start.wait()
        return archive_put(actor_id=actor_id, data=data, media_type="text/plain").cid

    # when
    runs = [in_thread(put, actor) for actor in ACTORS]
    for thread, _ in runs:
        thread.join(30)
    # then
    assert [out.get("error") for _, out in runs] == [None] * len(ACTORS)
    assert len({out["value"] for _, out in runs}) == 1
    assert ArchiveObject.objects.count() == 1
    assert sorted(ArchiveGrant.objects.values_list("actor_id", flat=True)) == ACTORS
