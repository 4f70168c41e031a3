"""Resources: capabilities a provider publishes (model, search, storage endpoints).

The endpoint and access token are stored sealed (market.secrets); the pricing unit must fit the
kind (model: token|call, search: query|call, storage: byte|call). Prices for token and byte are
per 1,000,000 units.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from market.models.constraints import status_check

UNITS_BY_KIND = {"model": ("token", "call"), "search": ("query", "call"), "storage": ("byte", "call")}
PER_MILLION_UNITS = ("token", "byte")


class Resource(models.Model):
    class Status(models.TextChoices):
        PUBLISHED = "resource_published"
        UNPUBLISHED = "resource_unpublished"

    class Kind(models.TextChoices):
        MODEL = "model"
        SEARCH = "search"
        STORAGE = "storage"

    class Backend(models.TextChoices):
        OPENAI_COMPAT = "openai-compat"
        SEARXNG = "searxng"
        HTTP_BLOB = "http-blob"
        CUSTOM = "custom"

    class Unit(models.TextChoices):
        TOKEN = "token"  # noqa: S105 - a pricing unit
        CALL = "call"
        QUERY = "query"
        BYTE = "byte"

    resource_id = models.CharField(max_length=40, unique=True)
    provider_actor_id = models.CharField(max_length=42, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    backend = models.CharField(max_length=16, choices=Backend.choices)
    endpoint_sealed = models.TextField(help_text="Fernet token; read only by the invoke proxy.")
    access_token_sealed = models.TextField(blank=True, default="")
    unit = models.CharField(max_length=8, choices=Unit.choices)
    unit_price = models.BigIntegerField(help_text="Minor units, per unit (call, query) or per 1e6 (token, byte).")
    currency = models.CharField(max_length=10)
    policy = models.JSONField(default=dict)
    tags = models.JSONField(default=list)
    tags_text = models.CharField(
        max_length=1100, blank=True, default="", help_text="',a,b,' so a tag filter is one LIKE on every database."
    )
    hash = models.CharField(max_length=80)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PUBLISHED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            status_check("resource_published", "resource_unpublished"),
            models.CheckConstraint(
                condition=Q(backend__in=["openai-compat", "searxng", "http-blob", "custom"]),
                name="%(app_label)s_%(class)s_backend",
            ),
            models.CheckConstraint(
                condition=Q(kind="model", unit__in=UNITS_BY_KIND["model"])
                | Q(kind="search", unit__in=UNITS_BY_KIND["search"])
                | Q(kind="storage", unit__in=UNITS_BY_KIND["storage"]),
                name="%(app_label)s_%(class)s_unit_fits_kind",
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="%(app_label)s_%(class)s_price_nonnegative"),
            models.CheckConstraint(condition=~Q(endpoint_sealed=""), name="%(app_label)s_%(class)s_endpoint_set"),
        ]
        indexes = [
            models.Index(fields=["status", "kind"]),
            # Lists of one status, newest first (the console's discover list): read in index order.
            models.Index(fields=["status", "id"], name="market_resource_status_id"),
            # The index's filters, each read newest first in index order (keyset pages by id); the
            # tag filter has a trigram index on PostgreSQL (migration 0019).
            models.Index(fields=["status", "kind", "id"], name="market_resource_kind_id"),
            models.Index(fields=["provider_actor_id", "status", "id"], name="market_resource_provider_id"),
            models.Index(fields=["status", "currency", "unit_price"], name="market_resource_price"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.name}"

    @property
    def per_units(self) -> int:
        return 1_000_000 if self.unit in PER_MILLION_UNITS else 1
