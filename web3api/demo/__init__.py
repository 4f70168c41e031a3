"""The demo market (`manage.py demo`): each capability adds a step to DEMO_STEPS; every step is
idempotent, so the demo can be loaded again at any time.

  actors.py       the demo actors' wallets, roles, console user and funds
  funds.py        with a chain (the devchain), the funds come from real deposits instead
  task_market.py  tasks in several states and one open dispute
  resources.py    resources on the local demo provider, a lease, signed index reports
  staff.py        a ruled dispute, an operator's credit, a checkpoint (the staff and arbitration pages)
  monitor.py      the alert rules and one that the demo's dispute trips
  wallet.py       the consumer's agent token, a finished session and an open one
  brain.py        the open session's brain: the demo chat model, resolved and leased in the session
  trail.py        archive objects (dispute evidence) and a consumer session's hook trail
  provider.py     the local demo provider itself (`manage.py demo_provider`)
  console.py      money that moved (charged leases), a resource with a token, a low-balance notice
  doors.py        the consumer's butler (an agent token) as an MCP client entry, key files for the CLI
"""

from __future__ import annotations

from collections.abc import Callable

from web3api.demo.actors import DemoWallet, demo_wallets, step_funds, step_identity
from web3api.demo.brain import step_brain
from web3api.demo.console import step_console
from web3api.demo.doors import step_doors
from web3api.demo.funds import step_funds_on_chain
from web3api.demo.monitor import step_monitor
from web3api.demo.resources import step_resources
from web3api.demo.staff import step_seal, step_staff
from web3api.demo.task_market import step_market
from web3api.demo.trail import step_trail
from web3api.demo.wallet import step_wallet

DEMO_STEPS: list[Callable[[dict[str, DemoWallet], Callable[[str], None]], None]] = [
    step_identity,
    step_funds,
    step_funds_on_chain,
    step_market,
    step_resources,
    step_staff,
    step_monitor,
    step_console,
    step_wallet,
    step_brain,
    step_trail,
    step_doors,
    step_seal,  # last: seals what every step before it did
]


def load_demo(out: Callable[[str], None]) -> None:
    wallets = demo_wallets()
    for step in DEMO_STEPS:
        step(wallets, out)
