"""Domain errors. Each carries one of API.md's stable codes; the gateway maps them to HTTP."""

from __future__ import annotations

from typing import Any

HTTP_STATUS = {
    "E_INVALID_ARGUMENT": 400,
    "E_AUTH_REQUIRED": 401,
    "E_INSUFFICIENT_FUNDS": 402,
    "E_FORBIDDEN": 403,
    "E_NOT_FOUND": 404,
    "E_CONFLICT": 409,
    "E_EXPIRED": 410,
    "E_REVOKED": 410,
    "E_QUOTA_EXCEEDED": 429,
    "E_INTERNAL": 500,
    "E_UNAVAILABLE": 503,
    "E_TIMEOUT": 504,
}
CODES = tuple(HTTP_STATUS)


class MarketError(Exception):
    """A refusal the caller can act on. `message` is human text and never holds a secret."""

    code = "E_INTERNAL"
    default_message = "internal error"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None,
                 code: str | None = None):
        if code is not None:
            if code not in HTTP_STATUS:
                raise ValueError(f"unknown error code {code}")
            self.code = code
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]


class InvalidArgument(MarketError):
    code = "E_INVALID_ARGUMENT"
    default_message = "invalid argument"

    @classmethod
    def field(cls, name: str, message: str) -> InvalidArgument:
        return cls(f"{name}: {message}", details={"fields": {name: message}})


class AuthRequired(MarketError):
    code = "E_AUTH_REQUIRED"
    default_message = "authentication required"


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
