"""The demo's wallet step: the consumer's agent token, a finished session, an open one and one waiting
for the owner's approval; idempotent."""

from market.models import AuditEvent, Session
from tests.conftest import Api
from tests.e2e.test_demo_resources import demo_server  # noqa: F401 - the fixture
from web3api.demo import load_demo
from web3api.demo.actors import demo_wallets
from web3api.models import AgentToken


def test_demo_adds_an_agent_with_finished_open_and_waiting_sessions_once(db, demo_server, settings, tmp_path, client):  # noqa: F811
    settings.VAR_DIR = tmp_path
    lines = []
    # when: the demo runs twice
    load_demo(lines.append)
    load_demo(lines.append)
    # then
    owner = demo_wallets()["consumer"].address
    token = AgentToken.objects.get(owner_actor_id=owner, label="demo butler")
    sessions = Session.objects.filter(owner_actor_id=owner, agent_token_id=token.token_id)
    assert sorted(sessions.values_list("label", "status")) == [
        ("demo: finished", "session_settled"),
        ("demo: open", "session_open"),
        ("demo: waiting", "session_pending_approval"),
    ]
    assert sessions.get(label="demo: waiting").settlement_id is None  # nothing locked while it waits
    assert (tmp_path / "demo" / "agent_token").read_text().startswith("oca_")
    assert not any("oca_" in line for line in lines)
    # and: the open session thinks with the demo chat model, resolved once, shown by billing.status
    butler = Api(client, (tmp_path / "demo" / "agent_token").read_text().strip())
    status = butler.call("web3.billing.status").result
    assert (status["brain"]["source"], status["brain"]["model"]) == ("web3", "Demo chat model")
    assert status["brain"]["sessionId"] == sessions.get(label="demo: open").session_id
    assert AuditEvent.objects.filter(action="brain.resolve", object_id=status["brain"]["sessionId"]).count() == 1
