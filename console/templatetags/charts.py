"""The segmented bar of a balance: available, then what is reserved by leases, awards, sessions.
Widths are presentation (percent of the total), drawn as SVG attributes: no inline style."""

from __future__ import annotations

from django import template

register = template.Library()

PARTS = (("available", "Available", "#1c7c43"), ("lease", "Leases", "#1f5fbf"), ("award", "Awards", "#9a6400"))
MORE = (("session", "Sessions", "#7b3fb3"), ("other", "Other", "#5b6474"))


@register.inclusion_tag("console/includes/segbar.html")
def segbar(economics) -> dict:
    amounts = {"available": economics.available}
    for name, _, _ in (*PARTS[1:], *MORE):
        amounts[name] = getattr(economics.reserved, name)
    total = sum(amounts.values())
    segments, x = [], 0.0
    for name, label, color in (*PARTS, *MORE):
        width = (amounts[name] * 100.0 / total) if total else 0.0
        segments.append({"name": name, "label": label, "color": color, "x": x, "width": width, "amount": amounts[name]})
        x += width
    return {"segments": segments, "currency": economics.currency, "total": total}
