"""Outbound HTTP to providers: the only place the market opens a connection to one.

Guards: http(s) only, no credentials in the URL; the host is resolved once and every address is
checked (loopback, private, link-local, multicast, reserved, unspecified and cloud metadata
addresses are refused unless WEB3_ALLOW_PRIVATE_ENDPOINTS, or, for loopback only, the port is one of
WEB3_ALLOW_LOOPBACK_PORTS, e.g. the local demo provider's); the request then goes to the checked
address (Host header and TLS SNI keep the name), so a second DNS answer cannot redirect it.
Connect/read timeouts, no redirects, a response size cap. Errors never carry the URL: endpoints
are secrets, and so httpx's own request log is kept quiet.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import ssl
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

from market.errors import InvalidArgument, Timeout, Unavailable

for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

log = logging.getLogger("market.outbound")

CONNECT_TIMEOUT_SEC = 3.0
READ_TIMEOUT_SEC = 20.0
MAX_RESPONSE_BYTES = 1024 * 1024
METADATA_ADDRESSES = {
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
}
SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")


# A '%' that does not start a %XX escape: RFC 3986 has no such URL ("http://a%9"), though urlsplit takes it.
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def check_endpoint_syntax(endpoint: str) -> None:
    """What can be checked without the network: an RFC 3986 URL (percent escapes complete), scheme,
    host, no userinfo or fragment."""
    if _BAD_PERCENT.search(endpoint):
        raise InvalidArgument.field("endpoint", "not a valid URL: every '%' starts a %XX escape")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise InvalidArgument.field("endpoint", "not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument.field("endpoint", "must be an http or https URL with a host")
    if parts.username or parts.password or parts.fragment:
        raise InvalidArgument.field("endpoint", "must not carry credentials or a fragment")
    if port is not None and not 0 < port < 65536:
        raise InvalidArgument.field("endpoint", "has a bad port")
    if not settings.WEB3_ALLOW_PRIVATE_ENDPOINTS:
        try:
            addr = ipaddress.ip_address(parts.hostname)
        except ValueError:
            return  # a name: resolved and checked when called
        _check_address(addr, port or (443 if parts.scheme == "https" else 80))


def _blocked(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_loopback and port in settings.WEB3_ALLOW_LOOPBACK_PORTS:
        return False
    return (
        addr in METADATA_ADDRESSES
        or addr.is_loopback
        or addr.is_private
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or addr in SHARED_SPACE
        or (isinstance(addr, ipaddress.IPv6Address) and addr.is_site_local)
    )


def _check_address(addr, port: int) -> None:
    if _blocked(addr, port):
        raise InvalidArgument.field(
            "endpoint",
            "resolves to a loopback, private, link-local or metadata address, which this market does not call",
        )


def _lookup(host: str, port: int) -> list:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


@cache
def tls() -> ssl.SSLContext:
    """This process's one TLS context for outbound calls (the roots httpx verifies against by default).
    httpx.Client builds a new one unless given one: ~40 ms of CPU per call to a provider, more than
    the rest of the call (bench/load.py)."""
    return httpx.create_ssl_context(trust_env=False)


def resolve_checked(host: str, port: int) -> list[str]:
    """The addresses of `host`, every one of which passed the guard (one refused refuses all)."""
    try:
        infos = _lookup(host, port)
    except (socket.gaierror, UnicodeError):
        raise Unavailable("the provider's host cannot be resolved") from None
    addrs = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addrs:
        raise Unavailable("the provider's host cannot be resolved")
    if not settings.WEB3_ALLOW_PRIVATE_ENDPOINTS and any(_blocked(a, port) for a in addrs):
        raise Unavailable(
            "the provider's endpoint resolves to an address this market does not call; nothing was charged",
            details={"reason": "endpoint_refused"},
        )
    return list(dict.fromkeys(str(a) for a in addrs))


@dataclass
class ProviderAnswer:
    status: int
    body: bytes
    content_type: str


def _read(response: httpx.Response, max_bytes: int) -> ProviderAnswer:
    try:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise Unavailable("the provider's answer exceeds the size cap", details={"maxBytes": max_bytes})
            chunks.append(chunk)
        return ProviderAnswer(response.status_code, b"".join(chunks), response.headers.get("content-type", ""))
    finally:
        response.close()


def call(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    json_body=None,
    content: bytes | None = None,
    params: dict[str, str] | None = None,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> ProviderAnswer:
    """One request to a provider through the guards. Network failure -> E_UNAVAILABLE, no answer in
    time -> E_TIMEOUT; the caller decides what an HTTP status means."""
    parts = urlsplit(url)
    scheme, host = parts.scheme, parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    addresses = resolve_checked(host, port)
    send_headers = dict(headers or {})
    send_headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    timeout = httpx.Timeout(READ_TIMEOUT_SEC, connect=CONNECT_TIMEOUT_SEC)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=tls()) as client:
            for i, address in enumerate(addresses):
                netloc_host = f"[{address}]" if ":" in address else address
                pinned = urlunsplit((scheme, f"{netloc_host}:{port}", parts.path or "/", parts.query, ""))
                request = client.build_request(
                    method,
                    pinned,
                    headers=send_headers,
                    json=json_body,
                    content=content,
                    params=params,
                    extensions=extensions,
                )
                try:
                    response = client.send(request, stream=True)
                except httpx.ConnectError:
                    if i + 1 < len(addresses):
                        continue  # the next checked address of the same name
                    raise
                return _read(response, max_bytes)
            raise AssertionError("unreachable")
    except httpx.TimeoutException:
        raise Timeout("the provider did not answer in time; nothing was charged") from None
    except httpx.HTTPError as exc:
        log.warning("provider call failed: %s", type(exc).__name__)
        raise Unavailable("the provider is unreachable; nothing was charged") from None
