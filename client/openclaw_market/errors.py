"""One exception per stable error code of the web3.* API."""

from __future__ import annotations

from typing import Any


class MarketError(Exception):
    code = "E_INTERNAL"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None, status: int = 0):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details: dict[str, Any] = details or {}
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidArgument(MarketError):
    code = "E_INVALID_ARGUMENT"


class AuthRequired(MarketError):
    code = "E_AUTH_REQUIRED"


class Forbidden(MarketError):
    code = "E_FORBIDDEN"


class NotFound(MarketError):
    code = "E_NOT_FOUND"


class Conflict(MarketError):
    code = "E_CONFLICT"


class InsufficientFunds(MarketError):
    code = "E_INSUFFICIENT_FUNDS"


class Expired(MarketError):
    code = "E_EXPIRED"


class Revoked(MarketError):
    code = "E_REVOKED"


class QuotaExceeded(MarketError):
    code = "E_QUOTA_EXCEEDED"


class Unavailable(MarketError):
    code = "E_UNAVAILABLE"


class Timeout(MarketError):
    code = "E_TIMEOUT"


class Internal(MarketError):
    code = "E_INTERNAL"


BY_CODE: dict[str, type[MarketError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        AuthRequired,
        Forbidden,
        NotFound,
        Conflict,
        InsufficientFunds,
        Expired,
        Revoked,
        QuotaExceeded,
        Unavailable,
        Timeout,
        Internal,
    )
}


def from_envelope(error: dict, status: int) -> MarketError:
    code = error.get("code") or "E_INTERNAL"
    cls = BY_CODE.get(code, MarketError)
    return cls(error.get("message") or code, code=code, details=error.get("details") or {}, status=status)
