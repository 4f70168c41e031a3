"""`market`: the market from a shell. Human tables by default, `--json` for scripts (the result as
the API answers it; an error as {"error": {code, message, details}} with exit status 1)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from openclaw_market import commands
from openclaw_market.client import Market
from openclaw_market.errors import MarketError
from openclaw_market.output import Spinner, render

DEFAULT_URL = "http://127.0.0.1:8000"


def config_path(given: str | None) -> Path:
    if given:
        return Path(given)
    if os.environ.get("MARKET_CONFIG"):
        return Path(os.environ["MARKET_CONFIG"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "openclaw-market" / "config.json"


def load_config(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def save_config(path: Path, config: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:  # the token is a secret
        json.dump(config, f, indent=2)
    tmp.replace(path)


def read_key(path: str):
    from eth_account import Account

    return Account.from_key(Path(path).read_text().strip())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="market", description="The OpenClaw Web3 Market from a shell.")
    p.add_argument("--url", help=f"the market's base URL (default: $MARKET_URL, the saved one, or {DEFAULT_URL})")
    p.add_argument("--json", action="store_true", help="print JSON for scripts instead of tables")
    p.add_argument("--config", help="where login keeps the URL and token (default: $MARKET_CONFIG or ~/.config)")
    sub = p.add_subparsers(dest="command", required=True)
    commands.add_all(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    path = config_path(args.config)
    config = load_config(path)
    url = args.url or os.environ.get("MARKET_URL") or config.get("url") or DEFAULT_URL
    spinner = Spinner(enabled=not args.json and sys.stderr.isatty())
    wallet = None
    if args.command == "login":
        wallet = read_key(args.key_file)
    elif config.get("keyFile") and Path(config["keyFile"]).exists():
        wallet = read_key(config["keyFile"])  # signs in again when the saved token has expired
    token = None if args.command == "login" else os.environ.get("MARKET_TOKEN") or config.get("token")
    market = Market(url, wallet=wallet, token=token, on_wait=spinner.waiting)
    try:
        with spinner:
            result, kind = args.run(market, args)
        if args.command == "login" or (wallet is not None and market.token != config.get("token")):
            save_config(
                path,
                {
                    "url": url,
                    "token": market.token,
                    "actorId": market.actor_id or config.get("actorId"),
                    "keyFile": str(Path(args.key_file).resolve()) if args.command == "login" else config.get("keyFile"),
                },
            )
    except MarketError as exc:
        error = {"code": exc.code, "message": exc.message, "details": exc.details}
        if args.json:
            print(json.dumps({"error": error}, indent=2))
        else:
            print(f"{exc.code}: {exc.message}", file=sys.stderr)
            for name, why in (exc.details.get("fields") or {}).items():
                print(f"  {name}: {why}", file=sys.stderr)
        return 1
    except (TypeError, ValueError, OSError) as exc:
        print(f"market: {exc}", file=sys.stderr)
        return 2
    finally:
        market.close()
    print(json.dumps(result, indent=2) if args.json else render(result, kind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
