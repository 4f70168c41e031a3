"""Charts rendered server-side as SVG (pygal): no script runs in the page."""

from __future__ import annotations

from decimal import Decimal

import pygal
from pygal.style import Style

from market.money import scale_of

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1d2330",
    foreground_strong="#1d2330",
    foreground_subtle="#5b6474",
    colors=("#1c7c43", "#b3261e"),
    font_family="system-ui, sans-serif",
)


def daily_income_expense_svg(currency: str, series: list[tuple]) -> bytes:
    """A bar chart of income and expense per day (amounts in the currency's units)."""
    unit = Decimal(10) ** scale_of(currency)
    chart = pygal.Bar(
        style=STYLE,
        width=900,
        height=300,
        js=[],
        show_legend=True,
        legend_at_bottom=True,
        x_label_rotation=0,
        show_minor_x_labels=False,
        truncate_label=-1,
        title=f"Income and expense per day ({currency})",
        value_formatter=lambda v: f"{v:.2f} {currency}",
    )
    labels = [day.strftime("%d %b") for day, _, _ in series]
    chart.x_labels = labels
    chart.x_labels_major = labels[::7]
    chart.add("Income", [float(Decimal(i) / unit) for _, i, _ in series])
    chart.add("Expense", [float(Decimal(e) / unit) for _, _, e in series])
    return chart.render()
