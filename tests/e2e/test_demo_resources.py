"""The demo's resource step: resources backed by the local demo provider, a lease, signed index
reports; idempotent; and an invoke through the market reaches the demo provider."""

import threading

import pytest

from market.models import IndexReport, Lease, Resource
from market.services.invoke import invoke
from web3api.demo import load_demo, provider, resources
from web3api.demo.actors import demo_wallets


@pytest.fixture
def demo_server(monkeypatch):
    httpd = provider.serve(0)
    monkeypatch.setattr(resources, "DEFAULT_PORT", httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_demo_publishes_leases_and_reports_resources_once(db, demo_server):
    lines = []
    # when: the demo runs twice
    load_demo(lines.append)
    load_demo(lines.append)
    # then
    wallets = demo_wallets()
    names = [spec["name"] for spec in resources.DEMO_RESOURCES]  # the console's demo step adds its own
    model = names[0]
    assert Resource.objects.filter(provider_actor_id=wallets["provider"].address, name__in=names).count() == 2
    outside_sessions = Lease.objects.filter(session__isnull=True)
    assert outside_sessions.filter(consumer_actor_id=wallets["consumer"].address, resource__name=model).count() == 1
    assert Lease.objects.filter(session__isnull=False, resource__name=model).count() == 1  # the demo session's brain
    assert IndexReport.objects.count() == 2
    assert not any("localhost" in line for line in lines)
    # and the consumer's lease reaches the demo provider through the market
    lease = outside_sessions.get(resource__name=model)
    out = invoke(
        lease_id=lease.lease_id,
        actor_id=wallets["consumer"].address,
        input={"messages": [{"role": "user", "content": "hello market"}]},
    )
    assert "hello market" in out.output["choices"][0]["message"]["content"]
    assert out.units == out.output["usage"]["total_tokens"] and out.cost > 0
