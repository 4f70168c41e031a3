"""What every admin page of the market shares: the tables that change only through the services are
read-only here, and money is shown as an amount of its currency, never as minor units."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from django.contrib import admin

from market.money import format_amount


def amount_with_currency(minor: int | None, currency: str) -> str | None:
    """1500000 minor units of USDC (scale 6) as "1.500000 USDC"; None (the admin's "-") for no amount."""
    return None if minor is None else f"{format_amount(minor, currency)} {currency}"


def money_display(field: str, currency: str = "currency") -> Callable[[Any], str | None]:
    """A list column and detail row showing the minor units in `field` with the row's currency;
    `currency` is the path to its code ("lease__currency" for a column of an invocation)."""
    path = currency.split("__")

    @admin.display(description=field.replace("_", " "), ordering=field)
    def display(obj: Any) -> str | None:
        code = obj
        for step in path:
            code = getattr(code, step)
        return amount_with_currency(getattr(obj, field), code)

    display.__name__ = field  # the detail row's CSS class, as for the field itself
    return display


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows are seen, never added or edited here; money columns (`money`: field -> the path to its
    currency) are shown as amounts in the list and on the detail page."""

    money: dict[str, str] = {}

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @cached_property
    def money_displays(self) -> dict[str, Callable]:
        # Made once per admin: the detail form tells its read-only rows apart by identity.
        return {name: money_display(name, currency) for name, currency in self.money.items()}

    def _with_amounts(self, names: Sequence[Any]) -> list[Any]:
        shown = [self.money_displays.get(n, n) if isinstance(n, str) else n for n in names]
        return list(dict.fromkeys(shown))  # a display both in place of its field and among the read-only ones

    def get_list_display(self, request):
        return self._with_amounts(super().get_list_display(request))

    def get_fields(self, request, obj=None):
        return self._with_amounts(super().get_fields(request, obj))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *self.money_displays.values()]


class ReadOnlyAdmin(ViewOnlyAdmin):
    """The authoritative tables: they change only through the services, so nothing is deleted here either."""

    def has_delete_permission(self, request, obj=None):
        return False


def admin_actor(request) -> str:
    """The operator as an actor id (42 characters at most, as every actor_id column): the username,
    or, when it is too long, the user's id (a username never contains ':')."""
    actor = f"admin:{request.user.get_username()}"
    return actor if len(actor) <= 42 else f"admin:id:{request.user.pk}"
