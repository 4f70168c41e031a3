"""Constraint helpers shared by the market's models."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


def status_check(*values: str) -> models.CheckConstraint:
    """The status column holds one of `values` (its states); named `<app>_<model>_status`."""
    return models.CheckConstraint(condition=Q(status__in=values), name="%(app_label)s_%(class)s_status")
