"""Domain errors. Each carries one of API.md's stable codes; web3api maps the codes to HTTP."""

from __future__ import annotations

from typing import Any

# API.md's stable codes. Which HTTP status answers each is the web gateway's business
# (web3api.errors.HTTP_STATUS): the market only says what went wrong.
CODES = (
    "E_INVALID_ARGUMENT",
    "E_AUTH_REQUIRED",
    "E_INSUFFICIENT_FUNDS",
    "E_FORBIDDEN",
    "E_NOT_FOUND",
    "E_CONFLICT",
    "E_EXPIRED",
    "E_REVOKED",
    "E_QUOTA_EXCEEDED",
    "E_INTERNAL",
    "E_UNAVAILABLE",
    "E_TIMEOUT",
)


class MarketError(Exception):
    """A refusal the caller can act on. `message` is human text and never holds a secret."""

    code = "E_INTERNAL"
    default_message = "internal error"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None, code: str | None = None):
        if code is not None:
            if code not in CODES:
                raise ValueError(f"unknown error code {code}")
            self.code = code
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class InvalidArgument(MarketError):
    code = "E_INVALID_ARGUMENT"
    default_message = "invalid argument"

    @classmethod
    def field(cls, name: str, message: str) -> InvalidArgument:
        return cls(f"{name}: {message}", details={"fields": {name: message}})


class AuthRequired(MarketError):
    """No usable credentials. The refusal says how to get them, so a client can act on it alone:
    its `details` name the header and the two sign-in calls."""

    code = "E_AUTH_REQUIRED"
    HOW_TO_SIGN_IN = "send 'Authorization: Bearer <token>' with a token from web3.siwe.challenge then web3.siwe.verify"
    SIGN_IN = {"header": "Authorization: Bearer <token>", "signIn": ["web3.siwe.challenge", "web3.siwe.verify"]}
    default_message = f"authentication required: {HOW_TO_SIGN_IN}"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None, code: str | None = None):
        if message is None and details is None:
            details = dict(self.SIGN_IN)
        super().__init__(message, details=details, code=code)

    @classmethod
    def sign_in(cls, reason: str) -> AuthRequired:
        """A refusal that a new sign-in cures: the reason, then how to sign in."""
        return cls(f"{reason}; {cls.HOW_TO_SIGN_IN}", details=dict(cls.SIGN_IN))


class Forbidden(MarketError):
    code = "E_FORBIDDEN"
    default_message = "not allowed"


class NotFound(MarketError):
    code = "E_NOT_FOUND"
    default_message = "not found"


class Conflict(MarketError):
    code = "E_CONFLICT"
    default_message = "the object's state does not allow this"


class InsufficientFunds(MarketError):
    code = "E_INSUFFICIENT_FUNDS"
    default_message = "insufficient funds"


class Expired(MarketError):
    code = "E_EXPIRED"
    default_message = "the deadline has passed"


class Revoked(MarketError):
    code = "E_REVOKED"
    default_message = "revoked"


class QuotaExceeded(MarketError):
    code = "E_QUOTA_EXCEEDED"
    default_message = "quota exceeded"


class Unavailable(MarketError):
    code = "E_UNAVAILABLE"
    default_message = "a dependency is unavailable; nothing was changed"


class Timeout(MarketError):
    code = "E_TIMEOUT"
    default_message = "a dependency did not answer in time; nothing was charged"
