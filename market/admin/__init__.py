"""The admin of the market's tables, one module per concern; importing the package registers them all.
Money columns show amounts with their currency (market.admin.base)."""

from market.admin import audit, ledger, monitor, resources, sessions, tasks

__all__ = ["audit", "ledger", "monitor", "resources", "sessions", "tasks"]
