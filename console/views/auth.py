"""Sign-in and sign-out.

Wallet: the page's script (static/console/wallet.js) asks the injected EIP-1193 wallet for its
account, gets the message from web3.siwe.challenge, has the wallet personal_sign it, and posts
the message and signature here; the view redeems them through the service behind
web3.siwe.verify and binds the session to the resulting token, which sign-out revokes.
Staff may also sign in with their Django password."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from console.viewer import SESSION_TOKEN, SESSION_TZ
from market.errors import MarketError
from web3api.identity.services import siwe_domain_and_uri, siwe_verify, token_resolve, token_revoke


class WalletSignInForm(forms.Form):
    message = forms.CharField(max_length=1100, strip=False, widget=forms.HiddenInput)
    signature = forms.RegexField(r"^0x[0-9a-fA-F]{130}$", widget=forms.HiddenInput)
    timezone = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def clean_message(self) -> str:
        # A form posts line breaks as CRLF (HTML's form encoding); the market's messages use LF.
        return self.cleaned_data["message"].replace("\r\n", "\n")


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return "/console/"


class SignInView(View):
    template_name = "console/signin.html"

    def get(self, request):
        return self._page(request, AuthenticationForm(request))

    def _page(self, request, password_form, error: str = "", status: int = 200):
        return render(
            request,
            self.template_name,
            {"password_form": password_form, "error": error, "next": _next(request)},
            status=status,
        )

    def post(self, request):
        if request.POST.get("method") == "password":
            return self._password(request)
        form = WalletSignInForm(request.POST)
        if not form.is_valid():
            refused = "The wallet's answer was not a signed message."
            return self._page(request, AuthenticationForm(request), refused, 400)
        domain, _uri = siwe_domain_and_uri(request)
        try:
            session = siwe_verify(
                message=form.cleaned_data["message"], signature=form.cleaned_data["signature"], domain=domain
            )
        except MarketError as exc:
            return self._page(request, AuthenticationForm(request), f"Sign-in refused: {exc.message}", 400)
        row = token_resolve(session.token)
        if request.user.is_authenticated:
            logout(request)
        request.session.cycle_key()
        request.session[SESSION_TOKEN] = row.pk
        if form.cleaned_data.get("timezone"):
            request.session[SESSION_TZ] = form.cleaned_data["timezone"]
        messages.success(request, f"Signed in as {session.actor_id}.")
        return redirect(_next(request))

    def _password(self, request):
        form = AuthenticationForm(request, data=request.POST)
        if not form.is_valid():
            return self._page(request, form, status=400)
        request.session.pop(SESSION_TOKEN, None)
        login(request, form.get_user())
        messages.success(request, f"Signed in as {form.get_user().get_username()}.")
        return redirect(_next(request))


class SignOutView(View):
    """POST only (a link must not sign anyone out): revokes the wallet session's token."""

    def get(self, request):
        return render(request, "console/signout.html")

    def post(self, request):
        token_id = request.session.get(SESSION_TOKEN)
        if token_id is not None:
            token_revoke(token_id=token_id)
        logout(request)  # flushes the session, wallet binding included
        messages.info(request, "Signed out.")
        return redirect("console:signin")
