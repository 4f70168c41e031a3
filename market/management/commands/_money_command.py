"""Shared parsing for the credit and debit operator commands."""

import re

from django.core.management.base import BaseCommand, CommandError

from market.errors import MarketError
from market.money import format_amount, parse_amount


class MoneyCommand(BaseCommand):
    verb = ""

    def add_arguments(self, parser):
        parser.add_argument("actor_id", help="0x-prefixed 40-hex wallet address")
        parser.add_argument("amount", help='decimal string, e.g. "100.50"')
        parser.add_argument("currency", help="a currency of WEB3_CURRENCIES, e.g. USDC")
        parser.add_argument("--reason", default="operator command")

    def move(self, *, actor_id, amount, currency, reason):  # pragma: no cover - abstract
        raise NotImplementedError

    def handle(self, *args, actor_id, amount, currency, reason, **options):
        actor_id = actor_id.lower()
        if not re.fullmatch(r"0x[0-9a-f]{40}", actor_id):
            raise CommandError("actorId must be a 0x-prefixed 40-hex wallet address")
        currency = currency.upper()
        try:
            minor = parse_amount(amount, currency)
            transfer = self.move(actor_id=actor_id, amount=minor, currency=currency, reason=reason)
        except MarketError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            f"{self.verb} {format_amount(minor, currency)} {currency} for {actor_id} ({transfer.transfer_id})"
        )
