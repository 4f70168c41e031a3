"""A list's cursor is opaque: only a nextCursor the list returned pages it. One forged from digits
that are not ASCII ('١٢٣', '²', which str.isdigit() accepts) or from a number no primary key can be
is E_INVALID_ARGUMENT naming `cursor`, on every list."""

from __future__ import annotations

import base64

import pytest

from tests.task_support import Flow, fund
from web3api import registry

pytestmark = pytest.mark.django_db

LISTS = [m.name for m in registry.all_methods() if "cursor" in m.params().fields]


def forged(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_every_list_takes_a_cursor():
    assert {"web3.resources.list", "web3.market.listTasks", "web3.audit.query", "web3.ledger.list"} <= set(LISTS)


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("pk", ["١٢٣", "²", "9" * 30, "0", "01", "", "1 "])
def test_a_forged_cursor_is_invalid_argument(sign_in, name, pk):
    # given a staff arbitrator (every list is open to it) and a cursor the list never returned
    api = sign_in(roles=("staff", "arbitrator"))
    fund(api.actor_id, "100")
    params = {"cursor": forged(f"pk:{pk}")}
    if name == "web3.market.listBids":
        params["taskId"] = Flow(api, sign_in()).publish().task["taskId"]
    # when the list is asked for the page after it
    r = api.call(name, params)
    # then it is refused, naming the cursor
    assert r.code == "E_INVALID_ARGUMENT", r.body
    assert set(r.body["error"]["details"]["fields"]) == {"cursor"}
