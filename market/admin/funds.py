"""Admin for funds on chain: deposits, withdrawals, the deposit job's cursor and the vault's
reconciliations, all read-only (they change only through the funds jobs and services)."""

from __future__ import annotations

from django.contrib import admin

from market.admin.base import ReadOnlyAdmin
from market.models import ChainCursor, Deposit, VaultReconciliation, Withdrawal


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ("deposit_id", "status", "actor_id", "amount", "currency", "tx_hash", "log_index", "block_number")
    list_filter = ("status", "currency")
    search_fields = ("deposit_id", "actor_id", "tx_hash", "payer")
    money = {"amount": "currency"}


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = ("withdrawal_id", "status", "actor_id", "amount", "currency", "to_address", "nonce", "tx_hash")
    list_filter = ("status", "currency")
    search_fields = ("withdrawal_id", "actor_id", "to_address", "tx_hash")
    money = {"amount": "currency"}


@admin.register(ChainCursor)
class ChainCursorAdmin(ReadOnlyAdmin):
    list_display = ("chain_id", "vault", "last_block", "head_block", "reorg_block", "reorg_detected_at", "updated_at")


@admin.register(VaultReconciliation)
class VaultReconciliationAdmin(ReadOnlyAdmin):
    list_display = ("currency", "token", "block_number", "onchain", "expected", "checked_at")
