"""Races on PostgreSQL: the same bytes archived by several actors at once."""

import threading

import pytest

from market.models import ArchiveGrant, ArchiveObject
from market.services.archive import archive_put
from tests.conftest import in_thread

ACTORS = ["0x" + f"{i:02x}" * 20 for i in range(1, 5)]

pytestmark = [pytest.mark.concurrency, pytest.mark.postgres]


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
