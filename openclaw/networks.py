"""The admin and /metrics limited to networks by setting.

WEB3_ADMIN_NETWORKS and WEB3_METRICS_NETWORKS are CIDR lists (e.g. "10.0.0.0/8,127.0.0.1/32");
empty means no limit. A request from elsewhere gets the plain 404 page, as if the page did not
exist: nothing says that it does, or why it was refused.

The client's address is REMOTE_ADDR, unless REMOTE_ADDR is one of WEB3_TRUSTED_PROXIES (CIDR
list): then X-Forwarded-For is read from the right, skipping trusted proxies, and the first other
address is the client's. The proxy must append to the header (nginx:
`proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`), so the entries left of it are
whatever the client wrote and are never believed. With no trusted proxy the header is ignored,
and behind a proxy every request then comes from the proxy's address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import Http404

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _inside(address, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address.version == n.version and address in n for n in networks)


def client_address(request):
    """The client's address (an ipaddress object, or None when it cannot be read)."""
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    proxies = _networks(tuple(settings.WEB3_TRUSTED_PROXIES))
    if not proxies or not _inside(remote, proxies):
        return remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return None
        if not _inside(address, proxies):
            return address
    return remote


def _limit_for(path: str) -> tuple[str, ...]:
    if path == "/metrics" or path.startswith("/metrics/"):
        return tuple(settings.WEB3_METRICS_NETWORKS)
    if path.startswith("/admin/") or path == "/admin":
        return tuple(settings.WEB3_ADMIN_NETWORKS)
    return ()


class NetworkLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = _limit_for(request.path_info)
        if limit and not _inside(client_address(request), _networks(limit)):
            raise Http404
        return self.get_response(request)
