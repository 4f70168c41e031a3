"""Settings, all from the environment with working defaults (see API.md "Settings").

A fresh machine gets SQLite and kombu's filesystem broker under var/; production sets
DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://...
"""

from __future__ import annotations

import json
import os
import warnings
from datetime import timedelta
from pathlib import Path

import environ

from openclaw.keys import read_key, read_key_file

# abnf 2.8.3 (pinned for siwe) warns about its own grammar on import, naming its file path in
# every command's and server's output; nothing to act on, so it is silenced.
warnings.filterwarnings("ignore", module=r"abnf(\..*)?$")

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

VAR_DIR = Path(env.str("WEB3_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = read_key("SECRET_KEY", VAR_DIR)
WEB3_SECRETS_KEY = read_key("WEB3_SECRETS_KEY", VAR_DIR)
# Keys being retired (market/secrets.py): still decrypt, never encrypt; `manage.py rotate_secrets`.
WEB3_SECRETS_KEY_OLD = env.list("WEB3_SECRETS_KEY_OLD", default=[])
WEB3_CHECKPOINT_KEY = read_key("WEB3_CHECKPOINT_KEY", VAR_DIR)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files, no CDN
    "market",
    "web3api",
    "django_htmx",
    "console",
]

MIDDLEWARE = [
    # Before WhiteNoise, so static files get the security headers, the frame denial and the CSP too.
    "openclaw.logs.CorrelationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "openclaw.networks.NetworkLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "console.viewer.ViewerMiddleware",
]

ROOT_URLCONF = "openclaw.urls"
WSGI_APPLICATION = "openclaw.wsgi.application"
ASGI_APPLICATION = "openclaw.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context.console",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
# SQLite is shared by the web server, the worker and beat: WAL lets readers run beside the one
# writer, IMMEDIATE takes the write lock at BEGIN (no lock upgrade deadlocks), and the busy timeout
# makes a writer wait instead of failing. On PostgreSQL the same time bounds a wait for a lock
# (lock_timeout). A write that cannot get the database in that time is E_UNAVAILABLE (503).
WEB3_DB_BUSY_TIMEOUT_SEC = env.float("WEB3_DB_BUSY_TIMEOUT_SEC", default=20.0)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'market.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": WEB3_DB_BUSY_TIMEOUT_SEC,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            f"PRAGMA busy_timeout={int(WEB3_DB_BUSY_TIMEOUT_SEC * 1000)};"
        ),
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", f"-c lock_timeout={int(WEB3_DB_BUSY_TIMEOUT_SEC * 1000)}"
    )
    if os.environ.get("WEB3_TEST_DB_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": os.environ["WEB3_TEST_DB_NAME"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache: throttles and counters ---------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # With Redis unreachable a call waits at most 0.5 s for its counter, then goes through (ratelimit.py).
    _redis = {"LOCATION": REDIS_URL, "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", **_redis}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "openclaw"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # The archive's encrypted objects (market/archive_store.py): files under var/archive by default;
    # any Django storage by setting, e.g. WEB3_ARCHIVE_STORAGE=storages.backends.s3.S3Storage with
    # WEB3_ARCHIVE_STORAGE_OPTIONS='{"bucket_name": "...", "endpoint_url": "https://..."}' (boto3 needed).
    "archive": {
        "BACKEND": env.str("WEB3_ARCHIVE_STORAGE", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("WEB3_ARCHIVE_STORAGE_OPTIONS", default={"location": str(VAR_DIR / "archive")}),
    },
}
LOGIN_URL = "/console/signin/"

CSRF_FAILURE_VIEW = "console.views.errors.csrf_failure"
# TLS, security headers, cookie flags, network limits, JSON logs: openclaw/production.py.
# Content-Security-Policy (django-csp): our own scripts and styles only, no inline ones, no CDN.
# Swagger UI's page bootstraps itself with an inline script, so /api/docs/ is left out.
from csp.constants import NONE, SELF  # noqa: E402

from openclaw.production import *  # noqa: E402, F403

CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# Request bodies above this are refused with E_INVALID_ARGUMENT (HTTP 413).
WEB3_MAX_BODY_BYTES = env.int("WEB3_MAX_BODY_BYTES", default=1024 * 1024)
# Bodies nesting arrays and objects deeper than this (the params object is level 1) are refused with
# E_INVALID_ARGUMENT before they are parsed. At most 200, so nothing that walks a value recursively
# (the parser, canonical JSON, the serializers) comes near Python's recursion limit.
WEB3_MAX_JSON_DEPTH = min(env.int("WEB3_MAX_JSON_DEPTH", default=64), 200)
DATA_UPLOAD_MAX_MEMORY_SIZE = WEB3_MAX_BODY_BYTES

# --- REST framework and schema ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "web3api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OpenClaw Web3 Market API",
    "DESCRIPTION": (
        "The `web3.*` API: one method per URL, `POST /api/v1/<method>` with a JSON object of "
        "params; read-only methods also answer GET. Every answer is the envelope "
        '`{"ok": true, "result": ...}` or `{"ok": false, "error": {code, message, details}}`. '
        "`web3.capabilities.describe` gives each method's full descriptor."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Enums stay inline in their fields (no shared enum components to collide by name).
    "POSTPROCESSING_HOOKS": [],
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
    "SECURITY": [{"bearer": []}],
}

# --- the market's own settings (API.md) ------------------------------------------------------------
WEB3_SIWE_DOMAIN = env.str("WEB3_SIWE_DOMAIN", default="")
WEB3_CHAIN_IDS = [int(c) for c in env.list("WEB3_CHAIN_IDS", default=["1"])]
WEB3_CURRENCIES = env.str("WEB3_CURRENCIES", default="USDC:6")
WEB3_ALLOW_PRIVATE_ENDPOINTS = env.bool("WEB3_ALLOW_PRIVATE_ENDPOINTS", default=False)
# Loopback ports the invoke proxy may call although loopback is otherwise refused (scripts/run: the
# local demo provider's 8765). Loopback only; every other private address stays refused.
WEB3_ALLOW_LOOPBACK_PORTS = [int(p) for p in env.list("WEB3_ALLOW_LOOPBACK_PORTS", default=[])]
WEB3_REVIEW_WINDOW_SEC = env.int("WEB3_REVIEW_WINDOW_SEC", default=86400)
WEB3_DISPUTE_WINDOW_SEC = env.int("WEB3_DISPUTE_WINDOW_SEC", default=600)
WEB3_APPEAL_WINDOW_SEC = env.int("WEB3_APPEAL_WINDOW_SEC", default=3600)
# An award with no result this long after its deliverBy is revoked by the tasks.undelivered sweep.
WEB3_DELIVERY_GRACE_SEC = env.int("WEB3_DELIVERY_GRACE_SEC", default=3600)
WEB3_TASK_BUDGET_CAP = env.str("WEB3_TASK_BUDGET_CAP", default="")
WEB3_MAX_OPEN_TASKS = env.int("WEB3_MAX_OPEN_TASKS", default=100)
WEB3_BIDS_PER_MINUTE = env.int("WEB3_BIDS_PER_MINUTE", default=30)
WEB3_DISPUTES_PER_DAY = env.int("WEB3_DISPUTES_PER_DAY", default=10)
WEB3_DISABLED_METHODS = env.list("WEB3_DISABLED_METHODS", default=[])
# Agent wallets (delegation, sessions): the market-wide limits every owner's spend policy stays within,
# as decimal strings read in each currency's scale.
WEB3_AGENT_MAX_SESSION_CAP = env.str("WEB3_AGENT_MAX_SESSION_CAP", default="1000")
WEB3_AGENT_MAX_DAILY_CAP = env.str("WEB3_AGENT_MAX_DAILY_CAP", default="5000")
WEB3_AGENT_TOKEN_MAX_TTL_SEC = env.int("WEB3_AGENT_TOKEN_MAX_TTL_SEC", default=30 * 24 * 3600)
WEB3_SESSION_MAX_TTL_SEC = env.int("WEB3_SESSION_MAX_TTL_SEC", default=7 * 24 * 3600)
WEB3_SESSION_APPROVAL_TTL_SEC = env.int("WEB3_SESSION_APPROVAL_TTL_SEC", default=900)
WEB3_SESSION_BATCH_UNITS = env.int("WEB3_SESSION_BATCH_UNITS", default=100)
WEB3_SESSION_BATCH_SEC = env.int("WEB3_SESSION_BATCH_SEC", default=300)
# Brain resolution: model resources (by resource or provider id) any agent may use as its main brain, and
# how long a brain whose newest call failed is passed over.
WEB3_BRAIN_ALLOWLIST = [i.lower() for i in env.list("WEB3_BRAIN_ALLOWLIST", default=[])]
WEB3_BRAIN_COOLDOWN_SEC = env.int("WEB3_BRAIN_COOLDOWN_SEC", default=60)
WEB3_ALERT_WEBHOOK_URL = env.str("WEB3_ALERT_WEBHOOK_URL", default="")
WEB3_ALERT_WEBHOOK_SECRET = env.str("WEB3_ALERT_WEBHOOK_SECRET", default="")
WEB3_MARKET_NAME = env.str("WEB3_MARKET_NAME", default="OpenClaw Web3 Market")
WEB3_ALERT_WEBHOOK_TIMEOUT_SEC = env.float("WEB3_ALERT_WEBHOOK_TIMEOUT_SEC", default=5.0)
# Alert e-mail goes to these addresses through Django's e-mail backend (none: no e-mail).
WEB3_ALERT_EMAILS = env.list("WEB3_ALERT_EMAILS", default=[])
# EMAIL_URL (smtp://user:password@host:587, ...) picks the e-mail backend; without it, mail is
# written as files under var/mail, so a fresh machine loses nothing and needs no server.
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="market-alerts@localhost")
EMAIL_TIMEOUT = 10
WEB3_ALERT_MAX_ATTEMPTS = env.int("WEB3_ALERT_MAX_ATTEMPTS", default=10)
# A claimed delivery is left to its worker this long (at least 4x the webhook timeout): then it is retried.
WEB3_ALERT_CLAIM_SEC = env.int("WEB3_ALERT_CLAIM_SEC", default=120)
# The first wait after a failed chain call or notification (doubling each time, at most an hour).
WEB3_RETRY_BASE_SEC = env.int("WEB3_RETRY_BASE_SEC", default=15)
# How often beat runs every periodic job; the stuck-state monitors allow two intervals.
WEB3_SWEEP_INTERVAL_SEC = env.int("WEB3_SWEEP_INTERVAL_SEC", default=60)
# How often beat runs the audit sequencer (it also runs after commits that wrote audit events).
WEB3_AUDIT_SEQUENCE_INTERVAL_SEC = env.int("WEB3_AUDIT_SEQUENCE_INTERVAL_SEC", default=5)
# After a commit that wrote audit events, each process runs the sequencer at most once per this gap.
WEB3_AUDIT_SEQUENCE_AFTER_COMMIT_GAP_MS = env.int("WEB3_AUDIT_SEQUENCE_AFTER_COMMIT_GAP_MS", default=200)
WEB3_ANCHOR_RPC_URL = env.str("WEB3_ANCHOR_RPC_URL", default="")
WEB3_ANCHOR_PRIVATE_KEY = env.str("WEB3_ANCHOR_PRIVATE_KEY", default="") or read_key_file(VAR_DIR, "anchor_key")
# Token settlement on chain (market.onchain): all unset, web3.funds.* answers E_UNAVAILABLE naming
# what to set. WEB3_TOKENS is CODE=0xtoken per currency; the operator key is the setting or
# var/keys/operator_key. `tester://` is web3's in-process chain (tests).
WEB3_CHAIN_RPC_URL = env.str("WEB3_CHAIN_RPC_URL", default="")
WEB3_CHAIN_ID = env.int("WEB3_CHAIN_ID", default=0)
WEB3_VAULT_ADDRESS = env.str("WEB3_VAULT_ADDRESS", default="")
WEB3_TOKENS = dict(item.split("=", 1) for item in env.list("WEB3_TOKENS", default=[]) if "=" in item)
WEB3_CHAIN_CONFIRMATIONS = env.int("WEB3_CHAIN_CONFIRMATIONS", default=12)
WEB3_OPERATOR_PRIVATE_KEY = env.str("WEB3_OPERATOR_PRIVATE_KEY", default="") or read_key_file(VAR_DIR, "operator_key")
# The vault's deployment block: the deposit job reads logs from there on.
WEB3_CHAIN_START_BLOCK = env.int("WEB3_CHAIN_START_BLOCK", default=0)
# The local chain of `manage.py devchain` (scripts/run sets it): its var/chain/devchain.json fills
# whichever chain settings are unset, with 1 confirmation.
WEB3_DEVCHAIN_FILE = env.str("WEB3_DEVCHAIN_FILE", default="")
if WEB3_DEVCHAIN_FILE and Path(WEB3_DEVCHAIN_FILE).is_file():
    _devchain = json.loads(Path(WEB3_DEVCHAIN_FILE).read_text())
    WEB3_CHAIN_RPC_URL = WEB3_CHAIN_RPC_URL or _devchain["rpcUrl"]
    WEB3_CHAIN_ID = WEB3_CHAIN_ID or _devchain["chainId"]
    WEB3_VAULT_ADDRESS = WEB3_VAULT_ADDRESS or _devchain["vault"]
    WEB3_TOKENS = WEB3_TOKENS or {_devchain["currency"]: _devchain["token"]}
    WEB3_OPERATOR_PRIVATE_KEY = WEB3_OPERATOR_PRIVATE_KEY or _devchain["operatorPrivateKey"]
    WEB3_CHAIN_START_BLOCK = WEB3_CHAIN_START_BLOCK or _devchain["startBlock"]
    if "WEB3_CHAIN_CONFIRMATIONS" not in os.environ:
        WEB3_CHAIN_CONFIRMATIONS = 1
# Blocks read per eth_getLogs call by the deposit job, and how many calls one run makes at most.
WEB3_CHAIN_BLOCK_RANGE = env.int("WEB3_CHAIN_BLOCK_RANGE", default=500)
WEB3_CHAIN_MAX_RANGES = env.int("WEB3_CHAIN_MAX_RANGES", default=20)
# A withdrawal the vault keeps refusing before it is signed (paused, over the day's limit) is
# refunded after this many attempts (on market.backoff's schedule: about a day at the default).
WEB3_WITHDRAWAL_MAX_ATTEMPTS = env.int("WEB3_WITHDRAWAL_MAX_ATTEMPTS", default=30)
# Ask a worker to send a withdrawal as soon as it is requested (else the periodic job sends it).
WEB3_FUNDS_SEND_ON_REQUEST = env.bool("WEB3_FUNDS_SEND_ON_REQUEST", default=True)

# Identity
WEB3_SIWE_NONCE_TTL_SEC = 300
WEB3_SIWE_MAX_AGE_SEC = 300  # issued-at may be at most this old
WEB3_TOKEN_TTL_SEC = 24 * 3600

# Gateway
# Every module of the web3api.methods package is loaded (each registers its methods); tests add
# their own modules here.
WEB3_EXTRA_METHOD_MODULES: list[str] = []
# Requests per minute per (actor or client address, method) unless the method declares its own;
# WEB3_RATE_LIMITS overrides by method name, e.g. "web3.siwe.challenge=10/m,web3.x=5/s".
WEB3_DEFAULT_RATE_LIMIT = env.str("WEB3_DEFAULT_RATE_LIMIT", default="600/m")
WEB3_RATE_LIMITS = dict(item.split("=", 1) for item in env.list("WEB3_RATE_LIMITS", default=[]) if "=" in item)
WEB3_IDEMPOTENCY_TTL_SEC = 24 * 3600
# A duplicate that finds the first request still running waits this long for its answer, then
# gets E_CONFLICT. A claim whose request died without an answer is released after the stale age.
WEB3_IDEMPOTENCY_WAIT_SEC = env.float("WEB3_IDEMPOTENCY_WAIT_SEC", default=5.0)
WEB3_IDEMPOTENCY_STALE_SEC = env.int("WEB3_IDEMPOTENCY_STALE_SEC", default=300)
# An invocation whose process died mid-call stops holding its reservation after this long, and the
# invocations.stale job fails it (charging nothing). Keep it above the slowest provider call.
WEB3_INVOCATION_RESERVATION_TTL_SEC = env.int("WEB3_INVOCATION_RESERVATION_TTL_SEC", default=120)
WEB3_TX_RETRIES = 5
# The audit Merkle tree keeps the root of every complete chunk of 2**level events (see market/audit/chunks.py).
WEB3_MERKLE_CHUNK_LEVEL = env.int("WEB3_MERKLE_CHUNK_LEVEL", default=10)
# Refuse (E_INTERNAL) any write by a read-only method, which runs outside a transaction; on in the
# tests and under DEBUG, where it catches a method declared read-only that is not.
WEB3_READ_ONLY_GUARD = env.bool("WEB3_READ_ONLY_GUARD", default=DEBUG)

# --- Celery ------------------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # the exchange table (broadcast/pidbox); kombu's default is ./control in the working directory
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_IMPORTS = ["openclaw.periodic", "market.jobs"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Every periodic job and the ones that move money: openclaw/jobs_table.py.
from openclaw.jobs_table import WEB3_MONEY_JOBS, WEB3_PERIODIC_JOBS  # noqa: E402, F401 - settings

CELERY_BEAT_SCHEDULE = {
    f"periodic:{name}": {
        "task": "openclaw.periodic.run_periodic_job_task",
        "schedule": timedelta(
            seconds=WEB3_AUDIT_SEQUENCE_INTERVAL_SEC if name == "audit.sequence" else WEB3_SWEEP_INTERVAL_SEC
        ),
        "args": (name,),
    }
    for name in WEB3_PERIODIC_JOBS
}

# --- logging: no secrets; request bodies are never logged (LOGGING: openclaw/production.py) ---------

# Redaction of hook payloads and archive uploads (market/redaction.py): key names and patterns added
# to the built-in ones. WEB3_REDACT_KEYS is a comma list; WEB3_REDACT_PATTERNS a JSON object {kind: regex}.
WEB3_REDACT_KEYS = env.list("WEB3_REDACT_KEYS", default=[])
WEB3_REDACT_PATTERNS = env.json("WEB3_REDACT_PATTERNS", default={})
# The archive: the most bytes of one object (E_INVALID_ARGUMENT above it; at most 3/4 of the body
# limit, base64 taking 4 characters per 3 bytes) and of all the objects one actor put or ingested
# (E_QUOTA_EXCEEDED). Hooks: events per web3.hooks.ingest call, canonical bytes of one payload, and
# events per session (E_QUOTA_EXCEEDED).
WEB3_ARCHIVE_MAX_BYTES = min(env.int("WEB3_ARCHIVE_MAX_BYTES", default=512 * 1024), WEB3_MAX_BODY_BYTES * 3 // 4 - 1024)
WEB3_ARCHIVE_QUOTA_BYTES = env.int("WEB3_ARCHIVE_QUOTA_BYTES", default=64 * 1024 * 1024)
WEB3_HOOKS_MAX_BATCH = 100
WEB3_HOOKS_MAX_PAYLOAD_BYTES = min(env.int("WEB3_HOOKS_MAX_PAYLOAD_BYTES", default=64 * 1024), WEB3_ARCHIVE_MAX_BYTES)
WEB3_HOOKS_MAX_EVENTS_PER_SESSION = env.int("WEB3_HOOKS_MAX_EVENTS_PER_SESSION", default=10000)
