"""The demo actors: their wallets, roles and console user (step_identity), and their money
(step_funds).

Demo wallets' private keys are kept under var/ (mode 0600) for local use only, so scripts and the
console can act as the demo actors; they are never printed.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from eth_account import Account

from web3api.identity.services import role_grant
from web3api.models import ConsoleActor

DEMO_ACTORS = ("operator", "provider", "consumer", "creator", "bidder", "arbitrator")


@dataclass(frozen=True)
class DemoWallet:
    name: str
    address: str  # lowercase actor id
    key: str


def wallets_path():
    return settings.VAR_DIR / "demo" / "wallets.json"


def demo_wallets() -> dict[str, DemoWallet]:
    """The demo actors' wallets, created once (exclusive creation) and reused after."""
    path = wallets_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        data = {}
        for name in DEMO_ACTORS:
            acct = Account.create()
            data[name] = {"address": acct.address.lower(), "key": acct.key.hex()}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh, indent=2)
        except FileExistsError:
            pass
    data = json.loads(path.read_text())
    return {n: DemoWallet(n, v["address"], v["key"]) for n, v in data.items()}


def step_identity(wallets: dict[str, DemoWallet], out: Callable[[str], None]) -> None:
    operator = wallets["operator"]
    role_grant(actor_id=operator.address, role="staff")
    role_grant(actor_id=wallets["arbitrator"].address, role="arbitrator")
    User = get_user_model()
    user = User.objects.filter(username="operator").first()
    if user is None:
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username="operator", email="", password=password)
        password_file = settings.VAR_DIR / "demo" / "operator_password"
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        out("console user 'operator' created; its password is in the demo folder under var")
    else:
        out("console user 'operator' exists; its password is in the demo folder under var")
    ConsoleActor.objects.get_or_create(user=user, defaults={"actor_id": operator.address})
    for name, wallet in wallets.items():
        out(f"actor {name}: {wallet.address}")


def step_funds(wallets: dict[str, DemoWallet], out: Callable[[str], None]) -> None:
    """Fund the demo actors once (the deposit's idempotency key makes a re-run a no-op)."""
    from market.money import currencies, format_amount
    from market.onchain import client
    from market.services.ledger import deposit

    if client.configured():
        return  # the money comes from deposits on chain (web3api.demo.funds)

    amounts = {"consumer": 500, "creator": 1000, "bidder": 50, "provider": 20}
    for currency, scale in currencies().items():
        for name, whole in amounts.items():
            minor = whole * 10**scale
            deposit(
                actor_id=wallets[name].address,
                amount=minor,
                currency=currency,
                reason="demo funding",
                idempotency_key=f"demo:fund:{name}:{currency}",
            )
            out(f"funded {name} with {format_amount(minor, currency)} {currency}")
