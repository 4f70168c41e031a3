"""Settings for running behind a TLS proxy, all from the environment (imported by settings.py).

With DEBUG off (the default) and the SECURE_* settings below given, `manage.py check --deploy`
is clean (tests/ops/test_production_settings.py). Nothing here changes a local run over plain
HTTP: every TLS-only flag defaults off.

- SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https": the request is HTTPS when the proxy
  says so (deploy/nginx.conf sets X-Forwarded-Proto). Set it only behind a proxy that overwrites
  that header, else a client could claim HTTPS.
- SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS (+ _INCLUDE_SUBDOMAINS, _PRELOAD): HSTS is sent on
  HTTPS responses only, as browsers ignore it over HTTP.
- SESSION_COOKIE_SECURE / CSRF_COOKIE_SECURE (the latter follows the former unless set), the
  cookies' SameSite and HttpOnly flags.
- WEB3_ADMIN_NETWORKS / WEB3_METRICS_NETWORKS: CIDR lists that may reach /admin/ and /metrics
  (empty: anywhere); WEB3_TRUSTED_PROXIES: the proxies whose X-Forwarded-For is believed
  (openclaw/networks.py).
- WEB3_LOG_FORMAT=json: one JSON object per log line, with the request's correlation id.
"""

from __future__ import annotations

import environ

env = environ.Env()

_proxy_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_header[:2]) if len(_proxy_header) == 2 else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# /healthz answers the proxy's and the orchestrator's plain-HTTP probes, /metrics the scraper inside the
# network (limit it with WEB3_METRICS_NETWORKS).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SESSION_COOKIE_SECURE)
SESSION_COOKIE_HTTPONLY = True
# The console's script reads the CSRF token from its form, never from the cookie.
CSRF_COOKIE_HTTPONLY = env.bool("CSRF_COOKIE_HTTPONLY", default=True)
SESSION_COOKIE_SAMESITE = env.str("SESSION_COOKIE_SAMESITE", default="Lax")
CSRF_COOKIE_SAMESITE = env.str("CSRF_COOKIE_SAMESITE", default="Lax")

WEB3_ADMIN_NETWORKS = env.list("WEB3_ADMIN_NETWORKS", default=[])
WEB3_METRICS_NETWORKS = env.list("WEB3_METRICS_NETWORKS", default=[])
WEB3_TRUSTED_PROXIES = env.list("WEB3_TRUSTED_PROXIES", default=[])

WEB3_LOG_FORMAT = env.str("WEB3_LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "openclaw.logs.CorrelationFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "openclaw.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if WEB3_LOG_FORMAT == "json" else "plain",
            "filters": ["correlation"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

__all__ = [name for name in dir() if name.isupper()]  # settings only (settings.py imports them all)
