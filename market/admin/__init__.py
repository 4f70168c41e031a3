"""The admin of the market's tables, one module per concern; importing the package registers them all.
Money columns show amounts with their currency (market.admin.base)."""

from market.admin import archive, audit, funds, ledger, limits, monitor, resources, sessions, tasks

__all__ = ["archive", "audit", "funds", "ledger", "limits", "monitor", "resources", "sessions", "tasks"]
