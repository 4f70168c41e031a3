"""The gateway: one DRF view class per registered method, all served by this one dispatcher.

Order of work for a call: a verb the method answers (else 405) -> availability (kill switch) ->
who is calling -> role -> rate limit -> params parsed (web3api.body: size cap, JSON media type,
nesting depth, a JSON object) -> Idempotency-Key claim -> params validated (no unknown names) ->
the handler in one transaction (retried on a locked database, deadlock or serialization failure)
-> the result shaped by the method's result serializer -> the envelope.

Availability, who and role are DRF's permission and authentication classes
(web3api.permissions, web3api.identity.auth), the rate limit its throttle (web3api.ratelimit);
the rest is the gateway's own. Every failure, from DRF's hooks or the call, leaves as the envelope.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.views import APIView

from market import tx as market_tx
from market.audit.log import acting_agent
from market.audit.sequencer import sequencing
from market.errors import InvalidArgument, NotFound, Unavailable
from market.services.monitor import failure_record
from web3api import idempotency, ratelimit
from web3api.body import body_params
from web3api.errors import DATABASE_RETRY_AFTER_SEC, connection_lost, database_busy, error_headers, to_error
from web3api.identity.auth import BearerTokenAuthentication, CallerRequest, ConsoleSessionAuthentication
from web3api.metrics import LATENCY, REQUESTS
from web3api.permissions import MethodAuthLevel, MethodEnabled
from web3api.registry import Call, Method
from web3api.serializers import query_params

log = logging.getLogger("web3api.gateway")

_RETRYABLE_PG = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def _retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in _RETRYABLE_PG:
        return True
    return "database is locked" in str(exc)


def run_in_transaction(fn, *args, **kwargs):
    """Run fn in one transaction; retry a locked database, deadlocks and serialization failures,
    but only when this is the outermost transaction (a nested one cannot be retried on its own).

    No retry starts once the busy timeout has passed since the first attempt: an attempt that
    found SQLite locked has already waited that long, and five of them would outlast the web
    server's worker timeout, so the caller would get a dropped connection instead of a 503.

    A connection lost before the COMMIT was sent (the session terminated, the server gone) left
    nothing behind: E_UNAVAILABLE, to be retried (with the same Idempotency-Key, whose claim is
    released). Lost during the COMMIT, the outcome is unknown: it stays E_INTERNAL, and a retry with
    the same key replays the answer if the change did commit (the answer commits with it)."""
    attempts = settings.WEB3_TX_RETRIES if not connection.in_atomic_block else 1
    deadline = time.monotonic() + settings.WEB3_DB_BUSY_TIMEOUT_SEC
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            with transaction.atomic(), market_tx.whole():
                result = fn(*args, **kwargs)
                committing = True
            return result
        except (OperationalError, InterfaceError) as exc:
            if connection_lost(exc) and not committing:
                log.warning("database connection lost mid-transaction, answered E_UNAVAILABLE: %s", type(exc).__name__)
                raise Unavailable(
                    "the connection to the database was lost; nothing was changed: try again",
                    details={"retryAfterSec": DATABASE_RETRY_AFTER_SEC},
                ) from exc
            if not isinstance(exc, OperationalError) or attempt >= attempts:
                raise
            if not _retryable(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")


class ReadOnlyViolation(RuntimeError):
    """A read-only method tried to write (caught when WEB3_READ_ONLY_GUARD is on, as in tests)."""


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE")


@contextmanager
def _refusing_writes(method_name: str):
    """With WEB3_READ_ONLY_GUARD, every statement of a read-only method is checked, and a write is
    refused before it reaches the database (read-only methods run outside a transaction)."""
    if not settings.WEB3_READ_ONLY_GUARD:
        yield
        return

    def guard(execute, sql, params, many, context):
        if sequencing():
            # The audit sequencer, run by a read that needs positions (market.audit.sequencer):
            # it gives committed events their seq and changes no object's state.
            return execute(sql, params, many, context)
        # Words, not whitespace-separated chunks: a data-modifying CTE reads "w AS (INSERT ...".
        words = re.findall(r"\w+", sql.upper())
        if words and (words[0] in _WRITES or (words[0] == "WITH" and any(w in _WRITES for w in words))):
            raise ReadOnlyViolation(f"read-only method {method_name} tried to write: {sql[:80]}")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(guard):
        yield


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(body, status=status, encoder=DjangoJSONEncoder)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class JSONOnly(BaseContentNegotiation):
    """Every answer is the JSON envelope, whatever the client's Accept header asks for."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class MethodView(APIView):
    """Base of the per-method views. The body is parsed and the envelope written here, not by DRF."""

    method: Method
    verbs: tuple[str, ...] = ("post",)
    authentication_classes = (BearerTokenAuthentication, ConsoleSessionAuthentication)
    permission_classes = (MethodEnabled, MethodAuthLevel)
    throttle_classes = (ratelimit.MethodRateThrottle,)
    content_negotiation_class = JSONOnly
    # Declared for the schema (the body is JSON); the body is parsed by web3api.body, not DRF.
    parser_classes = [JSONParser]
    metadata_class = None
    # Set once the verb is one the method answers: from then on the call is counted in /metrics.
    started: float | None = None
    outcome = "E_INTERNAL"

    def initialize_request(self, request, *args, **kwargs) -> CallerRequest:
        return CallerRequest(
            request,
            parsers=self.get_parsers(),
            authenticators=self.get_authenticators(),
            negotiator=self.get_content_negotiator(),
            parser_context=self.get_parser_context(request),
        )

    def get_authenticators(self):
        # An auth:none method reads no credentials: a stale token does not stand in the way of
        # signing in again.
        return [] if self.method.auth == "none" else super().get_authenticators()

    def initial(self, request, *args, **kwargs):
        # A verb the method does not answer is refused before anything else (DRF's dispatch would
        # refuse it only after authentication, permissions and throttles).
        if request.method.lower() not in self.verbs:
            self.http_method_not_allowed(request)
        self.started = time.perf_counter()
        super().initial(request, *args, **kwargs)

    def perform_authentication(self, request):
        """Nothing yet: the caller is authenticated when MethodAuthLevel first asks for
        `request.user`, after the kill switch, and never for an auth:none method."""

    def throttled(self, request, wait):
        raise ratelimit.quota_exceeded(self.method, wait)

    def handle_exception(self, exc):
        status, body = self._failure(exc)
        return self._answer(status, body, error_headers(body))

    def finalize_response(self, request, response, *args, **kwargs):
        if self.started is not None:
            REQUESTS.labels(self.method.name, self.outcome).inc()
            LATENCY.labels(self.method.name).observe(time.perf_counter() - self.started)
        return super().finalize_response(request, response, *args, **kwargs)

    def post(self, request):
        return self._call(request, lambda: body_params(request._request))

    # -- params ---------------------------------------------------------------------------------
    @staticmethod
    def _query_params(req) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name in req.GET:
            values = req.GET.getlist(name)
            if len(values) > 1:
                raise InvalidArgument.field(name, "given more than once")
            params[name] = values[0]
        return params

    # -- the call ---------------------------------------------------------------------------------
    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> JsonResponse:
        self.outcome = "OK" if status == 200 else body["error"]["code"]
        return _json(status, body, headers)

    def _failure(self, exc: Exception) -> tuple[int, dict[str, Any]]:
        status, body = to_error(exc)
        # A busy database is the market's failure too (the caller did nothing wrong), so a
        # money method counts it, as retries_exhausted, beside its unexpected errors.
        busy = database_busy(exc)
        if self.method.moves_money and (status == 500 or busy):
            failure_record(
                operation=self.method.name,
                kind="retries_exhausted" if busy else "internal",
                correlation_id=body["error"]["details"].get("correlationId", ""),
            )
        return status, body

    def _call(self, request, read_params) -> JsonResponse:
        method, req, caller = self.method, request._request, request.user
        record = None
        try:
            params = read_params()
            key = req.META.get("HTTP_IDEMPOTENCY_KEY")
            if key is not None and caller is not None and not method.read_only:
                claimed = idempotency.claim(
                    actor_id=caller.actor_id,
                    method=method.name,
                    key=idempotency.validate_key(key),
                    phash=idempotency.params_hash(params),
                )
                if isinstance(claimed, idempotency.Replay):
                    return self._answer(claimed.status, claimed.body, {"Idempotent-Replayed": "true"})
                record = claimed

            call = Call(
                actor_id=caller.actor_id if caller else None,
                roles=caller.roles if caller else frozenset(),
                method=method,
                token_id=caller.token_id if caller else None,
                token_expires_at=caller.expires_at if caller else None,
                request=req,
                agent=caller.agent if caller else None,
            )
            if call.agent is not None:
                # Every event the agent's call records names the agent beside its owner.
                with acting_agent(owner_actor_id=call.actor_id, token_id=call.agent.token_id, label=call.agent.label):
                    body = self._dispatch(method, call, params, record)
            else:
                body = self._dispatch(method, call, params, record)
            return self._answer(200, body, {})
        except Exception as exc:  # noqa: BLE001 - every failure leaves as the envelope
            status, body = self._failure(exc)
        if record is not None:
            if 400 <= status < 500 and status != 429:
                idempotency.complete(record, status=status, body=body)
            else:
                try:
                    idempotency.release(record)
                except DatabaseError:
                    # Still busy: the claim stays in flight until it is stale, and a retry with the
                    # same key meanwhile is E_CONFLICT, never a second effect.
                    log.warning("could not release the Idempotency-Key claim of %s", method.name)
        return self._answer(status, body, error_headers(body))

    def _dispatch(self, method: Method, call: Call, params: dict[str, Any], record) -> dict[str, Any]:
        if method.read_only:
            # Reads run in autocommit: each statement sees committed data, as a READ COMMITTED
            # transaction would, and on SQLite no IMMEDIATE transaction takes the write lock.
            with _refusing_writes(method.name):
                return self._run(method, call, params, record)
        if method.atomic:
            return run_in_transaction(self._run, method, call, params, record)
        return self._run(method, call, params, record)

    @staticmethod
    def _run(method: Method, call: Call, params: dict[str, Any], record) -> dict[str, Any]:
        serializer = method.params(data=params)
        unknown = sorted(set(params) - set(serializer.fields))
        if unknown:
            raise InvalidArgument(
                f"unknown params: {', '.join(unknown)}",
                details={"fields": {name: "unknown param" for name in unknown}},
            )
        serializer.is_valid(raise_exception=True)
        out = method.handler(call, serializer.validated_data)
        body = {"ok": True, "result": method.result(out).data}
        # Round-trip through JSON now so a replay returns exactly these bytes' meaning.
        body = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
        if record is not None:
            idempotency.complete(record, status=200, body=body)
        return body


class ReadMethodView(MethodView):
    verbs = ("post", "get", "head")

    def get(self, request):
        # A query string has only strings: they are converted by the declared types (?limit=10 is
        # 10), since the params themselves take JSON types strictly.
        return self._call(request, lambda: query_params(self.method.params, self._query_params(request._request)))


@csrf_exempt
def unknown_method(request, name: str) -> JsonResponse:
    REQUESTS.labels("unknown", "E_NOT_FOUND").inc()
    return _json(404, to_error(NotFound(f"no method named {name[:100]!r}; see web3.capabilities.list"))[1])
