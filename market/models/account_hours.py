"""Per-account hourly totals of settled money: what the economics dashboard reads instead of
adding up transfers.

One row per (account, UTC hour, counterparty account, resource) holds the sum of the settled
transfers (posted or post_pending, code escrow_release or transfer; the dashboard's income and
expense) that credited the account (`income`) or debited it (`expense`) in that hour, and how many
there were. The ledger writes it in the transaction of each such transfer, one upsert for both of
its accounts (market.services.ledger.create_transfer), so the dashboard's reads are bounded by the
hours of its window and the actor's counterparties, not by the number of transfers. Hours, not
days: the 24 h window rolls by the hour, and a viewer's day (in the viewer's time zone) is made of
whole hours in every zone whose offset is whole hours. The invariant monitor
`account_hours_match_transfers` checks the rows against the fold of the transfers.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

NO_RESOURCE = 0  # resource_ref of a transfer that is not a lease's release


class AccountHour(models.Model):
    account = models.ForeignKey("market.Account", on_delete=models.PROTECT, related_name="hours")
    hour = models.BigIntegerField(help_text="Hours since the Unix epoch (UTC) of the transfers counted here.")
    counterparty = models.ForeignKey("market.Account", on_delete=models.PROTECT, related_name="+")
    resource_ref = models.BigIntegerField(
        default=NO_RESOURCE, help_text="The id of the resource whose lease the transfers settled, or 0."
    )
    currency = models.CharField(max_length=10)
    income = models.BigIntegerField(default=0)
    expense = models.BigIntegerField(default=0)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "hour", "counterparty", "resource_ref"], name="%(app_label)s_%(class)s_key"
            ),
            models.CheckConstraint(
                condition=Q(income__gte=0, expense__gte=0, count__gte=0), name="%(app_label)s_%(class)s_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"account {self.account_id} hour {self.hour}: +{self.income} -{self.expense}"


class OverviewSnapshot(models.Model):
    """The operator's overview as the overview job last computed it (one row, id=1): the staff
    overview page and web3.admin.overview read it, so neither scans the market on each read."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    figures = models.JSONField(default=dict)
    computed_at = models.DateTimeField()
    took_ms = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"overview computed at {self.computed_at:%Y-%m-%d %H:%M:%S}"
