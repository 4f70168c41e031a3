"""One live market per test process for the doors' tests (gunicorn on its own SQLite store), and a
real loopback provider behind the resources they publish."""

from __future__ import annotations

import pytest

from tests.doors.live import LiveMarket
from tests.provider_server import ProviderServer

# A tight limit on one method the tests use for nothing else, so a 429 with Retry-After is real.
RATE_LIMITED = "web3.index.reputation"


@pytest.fixture(scope="session")
def live():
    with LiveMarket(WEB3_RATE_LIMITS=f"{RATE_LIMITED}=2/s") as market:
        yield market


@pytest.fixture(scope="session")
def provider():
    with ProviderServer() as server:
        yield server
