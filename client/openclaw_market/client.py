"""Market: the web3.* API as Python calls. Nothing here lists the methods: the catalogue comes from
web3.capabilities.list and each call's signature from web3.capabilities.describe, at first use, so
a method the market adds is callable without a new release of this client.

    m = Market("http://127.0.0.1:8000", wallet=Account.from_key(key))
    task = m.market.publishTask(title="...", requirements="...", budget="5.00", currency="USDC", ttlSec=3600)
    for lease in m.leases.list.iter():
        ...
"""

from __future__ import annotations

import inspect
import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
from eth_account.messages import encode_defunct

from openclaw_market.errors import AuthRequired, MarketError, from_envelope

RETRIED = frozenset({"E_UNAVAILABLE", "E_QUOTA_EXCEEDED"})
_JSON_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool, "object": dict, "array": list}


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class MethodCall:
    """One web3.* method as a callable with keyword params: its signature, docstring and checks
    come from the method's describe entry (paramsSchema)."""

    def __init__(self, market: Market, name: str, described: dict[str, Any]) -> None:
        self.market = market
        self.name = name
        self.described = described
        schema = described.get("paramsSchema") or {}
        self.properties: dict[str, Any] = schema.get("properties") or {}
        self.required = set(schema.get("required") or [])
        self.read_only = bool(described.get("readOnly"))
        self.__name__ = name.rsplit(".", 1)[-1]
        self.__qualname__ = name
        self.__doc__ = self._doc()
        self.__signature__ = inspect.Signature(
            [
                inspect.Parameter(
                    p,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=inspect.Parameter.empty if p in self.required else None,
                    annotation=_JSON_TYPES.get(str(spec.get("type")), Any),
                )
                for p, spec in self.properties.items()
            ]
        )

    def _doc(self) -> str:
        lines = [self.described.get("summary", ""), "", self.described.get("description", "")]
        for p, spec in self.properties.items():
            mark = "" if p in self.required else " (optional)"
            lines.append(f"  {p}{mark}: {spec.get('description', spec.get('type', ''))}")
        return "\n".join(lines).strip()

    def _check(self, params: dict[str, Any]) -> None:
        unknown = sorted(set(params) - set(self.properties))
        if unknown:
            raise TypeError(f"{self.name}: unknown params {unknown}; it takes {sorted(self.properties)}")
        missing = sorted(self.required - set(params))
        if missing:
            raise TypeError(f"{self.name}: missing params {missing}")

    def __call__(self, *, idempotency_key: str | None = None, **params: Any) -> Any:
        params = {k: v for k, v in params.items() if v is not None}
        self._check(params)
        return self.market.call(self.name, params, idempotency_key=idempotency_key)

    @property
    def paginated(self) -> bool:
        return "cursor" in self.properties

    def iter(self, **params: Any) -> Iterator[Any]:
        """Every item of a list, page after page (following nextCursor)."""
        params = {k: v for k, v in params.items() if v is not None}
        self._check(params)
        return self.market.iterate(self.name, params)

    def __repr__(self) -> str:
        return f"<web3 method {self.name}{self.__signature__}>"


class _Group:
    def __init__(self, market: Market, group: str) -> None:
        self._market = market
        self._group = group

    def __getattr__(self, verb: str) -> MethodCall:
        if verb.startswith("_"):
            raise AttributeError(verb)
        name = f"web3.{self._group}.{verb}"
        if name not in self._market.catalogue():
            raise AttributeError(f"the market has no method {name}")
        return self._market.method(name)

    def __dir__(self) -> list[str]:
        prefix = f"web3.{self._group}."
        return sorted(n[len(prefix) :] for n in self._market.catalogue() if n.startswith(prefix))


class Market:
    """A connection to one market, as one wallet (signs in with SIWE, signs in again before its
    token expires) or with a given bearer token (a SIWE token or an agent token)."""

    def __init__(
        self,
        base_url: str,
        *,
        wallet: Any = None,
        token: str | None = None,
        chain_id: int | None = None,
        timeout: float = 60.0,
        retries: int = 4,
        max_retry_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        on_wait: Callable[[str, float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url + "/api/v1/", timeout=timeout, transport=transport)
        self.wallet = wallet
        self.token = token
        self.chain_id = chain_id
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.on_wait = on_wait
        self.actor_id: str | None = None
        self.token_expires_at: datetime | None = None
        self._catalogue: dict[str, dict[str, Any]] | None = None
        self._methods: dict[str, MethodCall] = {}

    # -- signing in -------------------------------------------------------------------------
    def sign_in(self) -> dict[str, Any]:
        """SIWE: challenge, sign the message with the wallet, verify; keeps the token."""
        if self.wallet is None:
            raise AuthRequired("no wallet to sign in with", code="E_AUTH_REQUIRED")
        params: dict[str, Any] = {"address": self.wallet.address}
        if self.chain_id is not None:
            params["chainId"] = self.chain_id
        challenge = self._send("web3.siwe.challenge", params, token=None, key=None)
        signature = self.wallet.sign_message(encode_defunct(text=challenge["message"])).signature.hex()
        signature = signature if signature.startswith("0x") else "0x" + signature
        verified = self._send(
            "web3.siwe.verify", {"message": challenge["message"], "signature": signature}, token=None, key=None
        )
        self.token = verified["token"]
        self.actor_id = verified["actorId"]
        self.token_expires_at = _parse_time(verified.get("expiresAt"))
        return verified

    def _token_for_call(self) -> str | None:
        if self.wallet is not None:
            soon = self.token_expires_at is not None and (
                (self.token_expires_at - datetime.now(timezone.utc)).total_seconds() < 60  # noqa: UP017 - 3.10
            )
            if self.token is None or soon:
                self.sign_in()
        return self.token

    # -- the catalogue ------------------------------------------------------------------------
    def catalogue(self) -> dict[str, dict[str, Any]]:
        """name -> web3.capabilities.list entry, fetched once."""
        if self._catalogue is None:
            items = self._send("web3.capabilities.list", {}, token=None, key=None)["items"]
            self._catalogue = {item["name"]: item for item in items}
        return self._catalogue

    def describe(self, name: str) -> dict[str, Any]:
        return self._send("web3.capabilities.describe", {"name": name}, token=None, key=None)

    def method(self, name: str) -> MethodCall:
        if name not in self._methods:
            self._methods[name] = MethodCall(self, name, self.describe(name))
        return self._methods[name]

    def __getattr__(self, group: str) -> _Group:
        if group.startswith("_"):
            raise AttributeError(group)
        if not any(n.startswith(f"web3.{group}.") for n in self.catalogue()):
            raise AttributeError(f"the market has no method group {group!r}")
        return _Group(self, group)

    def __dir__(self) -> list[str]:
        groups = {n.split(".")[1] for n in self.catalogue()}
        return sorted(set(super().__dir__()) | groups)

    # -- calls --------------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any] | None = None, *, idempotency_key: str | None = None) -> Any:
        """Call any method by name. A mutating call carries an Idempotency-Key (a fresh one unless
        given), the same on every retry, so a retried call has one effect."""
        entry = self.catalogue().get(method)
        auth = entry["auth"] if entry else "actor"
        read_only = bool(entry and entry["readOnly"])
        key = None
        if auth != "none" and not read_only:
            key = idempotency_key or str(uuid.uuid4())
        token = self._token_for_call() if auth != "none" else None
        try:
            return self._send(method, params or {}, token=token, key=key)
        except AuthRequired:
            if self.wallet is None or auth == "none":
                raise
            self.sign_in()  # the token was revoked or expired early: once more with a new one
            return self._send(method, params or {}, token=self.token, key=key)

    def iterate(self, method: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        params = dict(params or {})
        while True:
            page = self.call(method, params)
            yield from page["items"]
            if not page.get("nextCursor"):
                return
            params["cursor"] = page["nextCursor"]

    def _send(self, method: str, params: dict[str, Any], *, token: str | None, key: str | None) -> Any:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.post(method, json=params, headers=headers)
            except httpx.TransportError as exc:
                # Safe to send again only when the call cannot take effect twice.
                if attempt > self.retries or not (key or self._read_only(method)):
                    raise MarketError(f"{method}: {exc}", code="E_UNAVAILABLE") from exc
                self._wait(method, min(self.max_retry_wait, 0.25 * 2**attempt))
                continue
            try:
                body = response.json()
            except ValueError as exc:
                raise MarketError(
                    f"{method}: HTTP {response.status_code} without the JSON envelope", status=response.status_code
                ) from exc
            if body.get("ok") is True:
                return body["result"]
            error = from_envelope(body.get("error") or {}, response.status_code)
            if error.code not in RETRIED or attempt > self.retries:
                raise error
            wait = self._retry_after(error, response, attempt)
            if wait > self.max_retry_wait:
                raise error
            self._wait(method, wait)

    def _read_only(self, method: str) -> bool:
        entry = (self._catalogue or {}).get(method)
        return bool(entry and entry["readOnly"])

    @staticmethod
    def _retry_after(error: MarketError, response: httpx.Response, attempt: int) -> float:
        for value in (error.details.get("retryAfterSec"), response.headers.get("Retry-After")):
            try:
                if value is not None:
                    return max(0.0, float(value))
            except (TypeError, ValueError):
                continue
        return min(8.0, 0.25 * 2**attempt) * (0.5 + random.random())  # noqa: S311 - jitter

    def _wait(self, method: str, seconds: float) -> None:
        if self.on_wait is not None:
            self.on_wait(method, seconds)
        time.sleep(seconds)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Market:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
