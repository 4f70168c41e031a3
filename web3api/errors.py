"""The error envelope and the one mapping from any exception to API.md's codes and HTTP
statuses, for the answers and for the OpenAPI document (web3api.schema)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers

from market.errors import AuthRequired, Forbidden, MarketError
from openclaw.logs import correlation_id as correlation_id_of_request
from web3api.body import BodyRefused

log = logging.getLogger("web3api.errors")

# API.md's HTTP status of each code.
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
# E_INVALID_ARGUMENT refusing the request itself, before any param is read, has its own status:
# 405 a verb the method does not answer, 413 a body too large, 415 a body not sent as JSON.
REQUEST_REFUSALS = (405, 413, 415)
# The codes whose answer says when to try again: details.retryAfterSec and the Retry-After header.
RETRY_AFTER_CODES = ("E_QUOTA_EXCEEDED", "E_UNAVAILABLE")


def statuses(code: str) -> tuple[int, ...]:
    """Every HTTP status an answer with this code can have."""
    return (HTTP_STATUS[code], *(REQUEST_REFUSALS if code == "E_INVALID_ARGUMENT" else ()))


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "details": details or {}}}


def _flatten(detail: Any) -> str:
    if isinstance(detail, list):
        return "; ".join(_flatten(d) for d in detail)
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    return str(detail)


def validation_fields(detail: Any) -> dict[str, str]:
    """DRF's nested error detail as {param: message}; nested params are dotted."""
    if not isinstance(detail, dict):
        return {"non_field_errors": _flatten(detail)}
    out: dict[str, str] = {}
    for key, value in detail.items():
        if isinstance(value, dict):
            for sub, msg in validation_fields(value).items():
                out[f"{key}.{sub}"] = msg
        else:
            out[str(key)] = _flatten(value)
    return out


def constraint_name(exc: IntegrityError) -> str | None:
    """The violated constraint's name, when the driver reports it (PostgreSQL does)."""
    diag = getattr(getattr(exc, "__cause__", None), "diag", None)
    return getattr(diag, "constraint_name", None)


# SQLSTATEs after which the transaction was rolled back having changed nothing, and a later try may
# well succeed: the lock was not granted within lock_timeout, no connection slot or the server is
# starting, and (once the gateway's retries are used up) serialization failures and deadlocks.
_PG_BUSY = {"55P03", "53300", "57P03", "40001", "40P01"}
# Seconds a client is told to wait before it tries again when the database was busy.
DATABASE_RETRY_AFTER_SEC = 1


# SQLSTATEs of a session the server ended (pg_terminate_backend, a crash or fast shutdown) and the
# connection exceptions (class 08).
_PG_SESSION_ENDED = {"57P01", "57P02"}


def connection_lost(exc: BaseException) -> bool:
    """True when the connection to the database died under the statement (the server ended the
    session, the socket closed). Its transaction is then rolled back by the server unless the loss
    came during the COMMIT itself, which only the caller knows (web3api.gateway.run_in_transaction)."""
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_SESSION_ENDED or sqlstate.startswith("08")
    # psycopg's errors without a SQLSTATE: "server closed the connection unexpectedly", "the
    # connection is lost", "the connection is closed" (a connection attempt is database_busy's).
    return type(cause).__module__.startswith("psycopg") and not database_busy(exc)


def database_busy(exc: BaseException) -> bool:
    """True when the database could not be had in time (SQLite's write lock after the busy
    timeout, a PostgreSQL lock timeout, no connection to be had) and so nothing was changed.
    Anything else, a connection lost in the middle of a transaction included, is not: its outcome
    is unknown."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_BUSY
    text = str(exc)
    if "database is locked" in text or "database table is locked" in text:
        return True
    # psycopg's own words for a connection attempt that failed: no session existed yet.
    return type(cause).__module__.startswith("psycopg") and (
        text.startswith("connection failed:") or text.startswith("connection timeout expired")
    )


def error_headers(body: dict[str, Any]) -> dict[str, str]:
    """The headers of an error answer: Retry-After where it says when to try again, and on
    E_AUTH_REQUIRED (401) the WWW-Authenticate challenge HTTP asks for (a bearer token)."""
    error = body["error"]
    headers = {}
    seconds = error["details"].get("retryAfterSec") if error["code"] in RETRY_AFTER_CODES else None
    if seconds is not None:
        headers["Retry-After"] = str(seconds)
    if error["code"] == "E_AUTH_REQUIRED":
        headers["WWW-Authenticate"] = 'Bearer realm="web3"'
    return headers


def _drf_refusal(exc: drf_exceptions.APIException) -> MarketError | None:
    """DRF's refusals from the gateway's authentication and permission classes, as the market
    words them (the sign-in hint included)."""
    if isinstance(exc, drf_exceptions.NotAuthenticated):  # the method needs a caller; none came
        return AuthRequired()
    if isinstance(exc, drf_exceptions.AuthenticationFailed):  # credentials came, and are no good
        return AuthRequired.sign_in(str(exc.detail))
    if isinstance(exc, drf_exceptions.PermissionDenied):
        return Forbidden(str(exc.detail))
    return None


def to_error(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(HTTP status, envelope) for any exception. Unexpected ones are logged with a correlation
    id, which is the only thing the client sees of them."""
    if isinstance(exc, drf_exceptions.APIException):
        exc = _drf_refusal(exc) or exc
    if isinstance(exc, MarketError):
        status = exc.http_status if isinstance(exc, BodyRefused) else HTTP_STATUS[exc.code]
        return status, error_body(exc.code, exc.message, exc.details)
    if isinstance(exc, serializers.ValidationError):
        fields = validation_fields(exc.detail)
        message = "; ".join(f"{k}: {v}" for k, v in fields.items())
        return 400, error_body("E_INVALID_ARGUMENT", message, {"fields": fields})
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return 405, error_body(
            "E_INVALID_ARGUMENT",
            "this method changes state: call it with POST",
            {"allowed": ["POST"]},
        )
    if isinstance(exc, Http404):  # a DRF view's unknown ?format=, an object lookup
        return 404, error_body("E_NOT_FOUND", "not found (the OpenAPI document answers ?format=json or yaml)", {})
    if isinstance(exc, drf_exceptions.NotAcceptable):
        offered = sorted({r.media_type for r in getattr(exc, "available_renderers", None) or ()})
        return 406, error_body(
            "E_INVALID_ARGUMENT",
            "the Accept header names no type this resource answers in: accept one of details.offered",
            {"offered": offered},
        )
    if isinstance(exc, IntegrityError):
        name = constraint_name(exc)
        details = {"constraint": name} if name else {}
        return 409, error_body("E_CONFLICT", "the change conflicts with the current state", details)
    if database_busy(exc):
        log.warning("database busy, answered E_UNAVAILABLE: %s", str(exc).splitlines()[0][:200])
        return 503, error_body(
            "E_UNAVAILABLE",
            "the database is busy; nothing was changed: try again shortly",
            {"retryAfterSec": DATABASE_RETRY_AFTER_SEC},
        )
    correlation_id = correlation_id_of_request() or uuid.uuid4().hex
    log.error("unhandled error correlationId=%s", correlation_id, exc_info=exc)
    return 500, error_body(
        "E_INTERNAL",
        "internal error; quote the correlation id when reporting it",
        {"correlationId": correlation_id},
    )


def exception_handler(exc: Exception, context: dict[str, Any]):
    """DRF's EXCEPTION_HANDLER, for DRF's views besides the gateway's (the OpenAPI document and
    its docs page): their failures leave as the envelope too. The gateway's views write their own
    (web3api.gateway.MethodView.handle_exception)."""
    from rest_framework.response import Response
    from rest_framework.views import set_rollback

    # DRF's rule: roll back only a transaction the request itself opened (ATOMIC_REQUESTS); an
    # enclosing atomic that is not the request's (a test's, a caller's) is not ours to doom.
    set_rollback()
    status, body = to_error(exc)
    return Response(body, status=status, headers=error_headers(body))
