"""Client of the OpenClaw Web3 Market: `Market(base_url, wallet=Account)` signs in with SIWE;
every web3.* method is a call generated from the market's self-description."""

from openclaw_market.client import Market, MethodCall
from openclaw_market.errors import (
    AuthRequired,
    Conflict,
    Expired,
    Forbidden,
    InsufficientFunds,
    Internal,
    InvalidArgument,
    MarketError,
    NotFound,
    QuotaExceeded,
    Revoked,
    Timeout,
    Unavailable,
)

__all__ = [
    "AuthRequired",
    "Conflict",
    "Expired",
    "Forbidden",
    "InsufficientFunds",
    "Internal",
    "InvalidArgument",
    "Market",
    "MarketError",
    "MethodCall",
    "NotFound",
    "QuotaExceeded",
    "Revoked",
    "Timeout",
    "Unavailable",
]
