"""Browser fixtures: Playwright (python) driving Debian's Chromium (/usr/bin/chromium, no browser
download), against pytest-django's live server; each actor gets its own browser context with a
test EIP-1193 wallet (`window.ethereum`) that signs with an eth-account key.

    def test_x(actor_page, live_server):
        alice = actor_page()                # a context + page + wallet
        sign_in(alice)                      # clicks "Sign in with wallet"
        shot(alice.page, "dashboard")       # test-results/screenshots/dashboard.png
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

# Playwright's sync API runs an event loop in the test's thread; the test's own ORM calls (given
# steps, then assertions) are synchronous and safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"

WALLET_SCRIPT = """
(() => {
  const address = %s;
  window.ethereum = {
    isTestWallet: true,
    request: async ({ method, params }) => {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [address];
      if (method === "eth_chainId") return "0x1";
      if (method === "personal_sign") return await window.__testWalletSign(params[0], params[1]);
      const err = new Error("The test wallet does not support " + method);
      err.code = 4200;
      throw err;
    },
  };
})();
"""


@pytest.fixture(autouse=True)
def _chromium_present():
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium: apt-get install -y chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": LAUNCH_ARGS}


def _personal_sign(account):
    def sign(message_hex: str, address: str) -> str:
        data = bytes.fromhex(message_hex[2:]) if message_hex.startswith("0x") else message_hex.encode()
        signature = account.sign_message(encode_defunct(primitive=data)).signature.hex()
        return signature if signature.startswith("0x") else "0x" + signature

    return sign


@dataclass
class ActorPage:
    page: object
    context: object
    account: object
    base: str
    csp_errors: list

    @property
    def actor_id(self) -> str:
        return self.account.address.lower()

    def goto(self, path: str):
        return self.page.goto(self.base + path)


@pytest.fixture
def actor_page(browser, live_server):
    """A factory: each call opens a browser context for one actor, with a wallet holding `account`
    (a new key unless given), or none with `wallet=False`. Content-Security-Policy violations
    reported in the console are collected and fail the test at teardown."""
    opened: list[ActorPage] = []

    def open_page(account=None, *, wallet: bool = True) -> ActorPage:
        account = account or Account.create()
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US", timezone_id="UTC")
        if wallet:
            context.expose_function("__testWalletSign", _personal_sign(account))
            context.add_init_script(WALLET_SCRIPT % ('"' + account.address + '"'))
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console",
            lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
        )
        actor = ActorPage(page, context, account, live_server.url, errors)
        opened.append(actor)
        return actor

    yield open_page
    for actor in opened:
        actor.context.close()
    violations = [e for a in opened for e in a.csp_errors]
    assert not violations, violations


def sign_in(actor: ActorPage, next_path: str = "/console/") -> None:
    actor.goto(f"/console/signin/?next={next_path}")
    actor.page.get_by_role("button", name="Sign in with wallet").click()
    actor.page.wait_for_url(lambda url: "/console/signin/" not in url)


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
