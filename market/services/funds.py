"""Funds on chain, the client's side: what to sign to deposit, and a withdrawal request.

A withdrawal request holds the amount at once, in the transaction that records the withdrawal: a
pending transfer from the actor's account to the currency's reserve (the actor's available balance
drops; the hold shows as the reserve's pending credit). The funds.withdrawals job sends it; completion
posts the hold, a refusal for good voids it back (market.services.funds_withdrawals)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from eth_utils import keccak

from market import tx
from market.audit.log import audit_record
from market.errors import InvalidArgument
from market.ids import new_id
from market.models import Transfer, Withdrawal
from market.money import format_amount, scale_of
from market.onchain import client
from market.services.ledger import (
    RESERVE_OWNER,
    K,
    actor_owner,
    amount_check,
    available_check,
    create_transfer,
    owner_accounts_lock,
)

log = logging.getLogger("market.funds")
ZERO_ADDRESS = "0x" + "00" * 20


def deposit_info(*, actor_id: str, currency: str, amount: int) -> dict[str, Any]:
    """The chain, the vault, the token and the two calls to sign (approve, then deposit for the
    actor), ABI-encoded here so that a client needs no ABI. No network I/O."""
    if not client.configured():
        raise client.unavailable()
    amount_check(amount)
    decimals = scale_of(currency)
    vault, token = client.offline_vault(), client.offline_token(currency)
    actor = vault.w3.to_checksum_address(actor_id)
    human = f"{format_amount(amount, currency)} {currency}"
    return {
        "chainId": client.settings.WEB3_CHAIN_ID,
        "vault": vault.address.lower(),
        "token": token.address.lower(),
        "currency": currency,
        "decimals": decimals,
        "amount": amount,
        "confirmations": client.confirmations(),
        "calls": [
            {
                "to": token.address.lower(),
                "data": token.encode_abi("approve", args=[vault.address, amount]),
                "description": f"approve: let the vault take {human} from the sending wallet",
            },
            {
                "to": vault.address.lower(),
                "data": vault.encode_abi("deposit", args=[token.address, amount, actor]),
                "description": f"deposit: the vault takes {human} and the market credits {actor_id} after "
                f"{client.confirmations()} confirmation(s)",
            },
        ],
    }


def chain_ref_of(withdrawal_id: str) -> str:
    """The vault's withdrawalId (bytes32) of a withdrawal: keccak256 of its id."""
    return "0x" + keccak(text=withdrawal_id).hex()


def withdrawal_request(*, actor_id: str, amount: int, currency: str, to_address: str | None = None) -> Withdrawal:
    """Hold `amount` of the actor's available balance and record the withdrawal, in one transaction."""
    if not client.configured():
        raise client.unavailable()
    amount_check(amount)
    token = client.token_for(currency)
    to_address = (to_address or actor_id).lower()
    if to_address in (ZERO_ADDRESS, client.vault_address()):
        raise InvalidArgument.field("to", "must be a wallet: neither the zero address nor the vault")
    with tx.atomic():
        payer, reserve = owner_accounts_lock(currency, actor_owner(actor_id), RESERVE_OWNER)
        available_check(payer, amount, currency)
        withdrawal_id = new_id("wd")
        hold = create_transfer(
            debit_account=payer,
            credit_account=reserve,
            amount=amount,
            currency=currency,
            kind=K.PENDING,
            code=Transfer.Code.WITHDRAWAL,
            reference=f"withdrawal:{withdrawal_id}",
        )
        withdrawal = Withdrawal.objects.create(
            withdrawal_id=withdrawal_id,
            actor_id=actor_id,
            currency=currency,
            token=token,
            to_address=to_address,
            amount=amount,
            chain_ref=chain_ref_of(withdrawal_id),
            hold=hold,
        )
        audit_record(
            actor_id=actor_id,
            action="funds.withdraw",
            object_type="withdrawal",
            object_id=withdrawal_id,
            payload={
                "amount": format_amount(amount, currency),
                "currency": currency,
                "to": to_address,
                "token": token,
                "transferId": hold.transfer_id,
            },
            parties=[actor_id],
        )
        if settings.WEB3_FUNDS_SEND_ON_REQUEST:
            transaction.on_commit(_enqueue_send)
    return withdrawal


def _enqueue_send() -> None:
    """Ask a worker to send it now; the periodic job sends it anyway if the message is lost."""
    try:
        from market.jobs import withdrawals_send_task

        withdrawals_send_task.delay()
    except Exception:  # noqa: BLE001 - a broker failure after commit is logged, never returned
        log.warning("could not enqueue the withdrawal sender; the funds.withdrawals job sends it")
