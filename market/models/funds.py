"""Tokens on chain: the deposit job's cursor, credited deposits and withdrawals.

A Deposit is one confirmed `Deposited` log of the vault, credited once (unique on chain id, tx hash
and log index) by a ledger transfer from the currency's on-chain reserve account. A Withdrawal is the
outbox row of one vault `withdraw` call: its amount is held by a pending transfer from the actor to
the reserve when it is requested; the signed transaction is stored before its first broadcast, so
every retry sends the same bytes; it is completed (the hold posted) after its confirmations, or
refunded (the hold voided) when the chain refuses it for good.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from market.models.outbox import OutboxTransaction
from market.money import format_amount

ADDRESS = r"^0x[0-9a-f]{40}$"
HASH = r"^0x[0-9a-f]{64}$"


class ChainCursor(models.Model):
    """How far the deposit job has read a vault's logs: the last block it finished and its hash.
    A changed hash at that height is a reorganisation below the confirmed depth (reorg_* record it)."""

    chain_id = models.BigIntegerField()
    vault = models.CharField(max_length=42)
    last_block = models.BigIntegerField()
    last_block_hash = models.CharField(max_length=66)
    head_block = models.BigIntegerField(null=True, blank=True, help_text="The chain head at the last run.")
    reorg_block = models.BigIntegerField(null=True, blank=True)
    reorg_detected_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "vault"], name="%(app_label)s_%(class)s_vault"),
            models.CheckConstraint(condition=Q(last_block__gte=-1), name="%(app_label)s_%(class)s_block"),
        ]

    def __str__(self) -> str:
        return f"cursor {self.chain_id}:{self.vault} at {self.last_block}"


class DepositStatus(models.TextChoices):
    CREDITED = "deposit_credited", "credited"
    # Its block left the chain after it was credited (a reorganisation deeper than the confirmations):
    # the credit stands, a P0 alert asks an operator to settle it.
    ORPHANED = "deposit_orphaned", "orphaned"


class Deposit(models.Model):
    Status = DepositStatus

    deposit_id = models.CharField(max_length=40, unique=True)
    chain_id = models.BigIntegerField()
    tx_hash = models.CharField(max_length=66)
    log_index = models.IntegerField()
    block_number = models.BigIntegerField()
    block_hash = models.CharField(max_length=66)
    token = models.CharField(max_length=42)
    currency = models.CharField(max_length=10)
    payer = models.CharField(max_length=42)
    actor_id = models.CharField(max_length=42, db_index=True)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREDITED)
    transfer = models.OneToOneField("market.Transfer", on_delete=models.PROTECT, related_name="chain_deposit")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "tx_hash", "log_index"], name="%(app_label)s_%(class)s_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=DepositStatus.values), name="%(app_label)s_%(class)s_status"),
            models.CheckConstraint(
                condition=Q(tx_hash__regex=HASH, token__regex=ADDRESS, actor_id__regex=ADDRESS),
                name="%(app_label)s_%(class)s_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deposit_id} {format_amount(self.amount, self.currency)} {self.currency}"


class WithdrawalStatus(models.TextChoices):
    PENDING = "withdrawal_pending", "pending"  # held in the ledger, nothing signed yet
    SIGNED = "withdrawal_signed", "signed"  # the raw transaction stored, not yet accepted by a node
    SENT = "withdrawal_sent", "sent"  # accepted by a node, waiting for its confirmations
    COMPLETED = "withdrawal_completed", "completed"  # confirmed: the hold posted to the reserve
    REFUNDED = "withdrawal_refunded", "refunded"  # refused for good: the hold voided back


class Withdrawal(OutboxTransaction):
    Status = WithdrawalStatus
    LIVE = (WithdrawalStatus.PENDING, WithdrawalStatus.SIGNED, WithdrawalStatus.SENT)

    withdrawal_id = models.CharField(max_length=40, unique=True)
    actor_id = models.CharField(max_length=42, db_index=True)
    currency = models.CharField(max_length=10)
    token = models.CharField(max_length=42)
    to_address = models.CharField(max_length=42)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    chain_ref = models.CharField(max_length=66, unique=True, help_text="The vault's withdrawalId (bytes32).")
    hold = models.OneToOneField("market.Transfer", on_delete=models.PROTECT, related_name="chain_withdrawal")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=WithdrawalStatus.values), name="%(app_label)s_%(class)s_status"
            ),
            models.CheckConstraint(
                condition=Q(to_address__regex=ADDRESS, token__regex=ADDRESS), name="%(app_label)s_%(class)s_hex"
            ),
            # One nonce per sender and chain: two signers can never spend the same nonce.
            models.UniqueConstraint(
                fields=["chain_id", "sender", "nonce"],
                condition=Q(nonce__isnull=False),
                name="%(app_label)s_%(class)s_nonce",
            ),
            # Signed or sent: the stored transaction is there (it is what every broadcast sends).
            models.CheckConstraint(
                condition=~Q(status__in=["withdrawal_signed", "withdrawal_sent"])
                | (Q(nonce__isnull=False) & ~Q(raw_tx="") & ~Q(tx_hash="")),
                name="%(app_label)s_%(class)s_signed_fields",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.withdrawal_id} {format_amount(self.amount, self.currency)} {self.currency}: {self.status}"


class VaultReconciliation(models.Model):
    """The last comparison, per currency, of the vault's token balance with the ledger's reserve
    (written by the funds.reconcile job, read by the invariant monitor and verify_audit)."""

    chain_id = models.BigIntegerField()
    vault = models.CharField(max_length=42)
    currency = models.CharField(max_length=10)
    token = models.CharField(max_length=42)
    block_number = models.BigIntegerField(help_text="The block the vault's balance was read at.")
    onchain = models.DecimalField(max_digits=40, decimal_places=0, help_text="The vault's balance, minor units.")
    expected = models.DecimalField(max_digits=40, decimal_places=0, help_text="What the ledger says it holds.")
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "vault", "currency"], name="%(app_label)s_%(class)s_once"),
        ]

    def __str__(self) -> str:
        return f"vault {self.currency}: on chain {self.onchain}, ledger {self.expected}"

    @property
    def difference(self) -> int:
        """On chain minus the ledger: positive when the vault holds more than the ledger accounts for."""
        return int(self.onchain) - int(self.expected)
