"""Funds on chain: how to deposit (the chain, the vault, the token and the two calls to sign, as
web3.funds.depositInfo gives them), the actor's deposits and withdrawals with their states, and a
withdrawal to a wallet."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin
from console.forms import MarketForm, apply_market_error
from market.errors import MarketError
from market.money import currencies, parse_amount
from market.selectors import funds as funds_selectors
from market.services import funds

RECENT = 20


class DepositForm(MarketForm):
    currency = forms.ChoiceField(choices=[])
    amount = forms.CharField(max_length=40, initial="10.00", help_text="The amount you will send, e.g. 25.00")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies()]


class WithdrawForm(DepositForm):
    to = forms.RegexField(
        r"^0x[0-9a-fA-F]{40}$", required=False, max_length=42, help_text="The receiving wallet; empty: your own."
    )


class FundsView(SignedInRequiredMixin, TemplateView):
    template_name = "console/funds.html"

    def get_context_data(self, **kwargs):
        actor_id = self.request.viewer.actor_id
        deposit_form = DepositForm(self.request.GET or None)
        info, unavailable = None, None
        if deposit_form.is_valid():
            try:
                currency = deposit_form.cleaned_data["currency"]
                amount = parse_amount(deposit_form.cleaned_data["amount"], currency, field="amount")
                info = funds.deposit_info(actor_id=actor_id, currency=currency, amount=amount)
            except MarketError as exc:
                if exc.code == "E_UNAVAILABLE":
                    unavailable = exc.message
                else:
                    apply_market_error(deposit_form, exc)
        return {
            **super().get_context_data(**kwargs),
            "deposit_form": deposit_form,
            "withdraw_form": kwargs.get("withdraw_form") or WithdrawForm(),
            "info": info,
            "unavailable": unavailable,
            "items": funds_selectors.funds_recent(actor_id, RECENT, funds_selectors.chain_head()),
        }

    def post(self, request):
        form = WithdrawForm(request.POST)
        if form.is_valid():
            currency = form.cleaned_data["currency"]
            try:
                withdrawal = funds.withdrawal_request(
                    actor_id=request.viewer.actor_id,
                    amount=parse_amount(form.cleaned_data["amount"], currency, field="amount"),
                    currency=currency,
                    to_address=(form.cleaned_data.get("to") or "").lower() or None,
                )
            except MarketError as exc:
                apply_market_error(form, exc)
            else:
                messages.success(
                    request,
                    f"Withdrawal {withdrawal.withdrawal_id} recorded: {form.cleaned_data['amount']} {currency} is held "
                    "and will be sent from the vault; it completes after the confirmations.",
                )
                return redirect("console:funds")
        return self.render_to_response(self.get_context_data(withdraw_form=form), status=400)
