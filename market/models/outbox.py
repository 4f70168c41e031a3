"""The outbox columns of a row that carries one signed chain transaction (market.onchain.outbox):
the transaction is signed and stored with its nonce before its first broadcast, so every retry
sends the same bytes; the attempts and the next attempt's time drive the retries with backoff."""

from __future__ import annotations

from django.db import models


class OutboxTransaction(models.Model):
    chain_id = models.BigIntegerField(null=True, blank=True)
    sender = models.CharField(max_length=42, blank=True, default="")
    nonce = models.BigIntegerField(null=True, blank=True)
    tx_hash = models.CharField(max_length=66, blank=True, default="")
    raw_tx = models.TextField(blank=True, default="", help_text="0x hex of the signed transaction.")
    block_number = models.BigIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
