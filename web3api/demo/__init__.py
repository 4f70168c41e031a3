"""The demo market (`manage.py demo`): each capability adds a step to DEMO_STEPS; every step is
idempotent, so the demo can be loaded again at any time.

  actors.py       the demo actors' wallets, roles, console user and funds
  funds.py        with a chain (the devchain), the funds come from real deposits instead
  task_market.py  tasks in several states and one open dispute
  resources.py    resources on the local demo provider, a lease, signed index reports
  monitor.py      the alert rules and one that the demo's dispute trips
  provider.py     the local demo provider itself (`manage.py demo_provider`)
"""

from __future__ import annotations

from collections.abc import Callable

from web3api.demo.actors import DemoWallet, demo_wallets, step_funds, step_identity
from web3api.demo.funds import step_funds_on_chain
from web3api.demo.monitor import step_monitor
from web3api.demo.resources import step_resources
from web3api.demo.task_market import step_market

DEMO_STEPS: list[Callable[[dict[str, DemoWallet], Callable[[str], None]], None]] = [
    step_identity,
    step_funds,
    step_funds_on_chain,
    step_market,
    step_resources,
    step_monitor,
]


def load_demo(out: Callable[[str], None]) -> None:
    wallets = demo_wallets()
    for step in DEMO_STEPS:
        step(wallets, out)
