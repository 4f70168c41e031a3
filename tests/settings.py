"""Test settings: the real settings, plus a test-only app and method, isolated var/ and keys."""

import atexit
import os
import shutil
import tempfile

if "WEB3_VAR_DIR" not in os.environ:
    os.environ["WEB3_VAR_DIR"] = tempfile.mkdtemp(prefix="openclaw-test-var-")
    _owner_pid = os.getpid()
    atexit.register(lambda: os.getpid() == _owner_pid and shutil.rmtree(os.environ["WEB3_VAR_DIR"], True))
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("WEB3_SECRETS_KEY", "n8OQmG7mFZ7u5P4gq1oQe0qz3s1m0cK1yXlS7c9l0mA=")
os.environ.setdefault("WEB3_CHECKPOINT_KEY", "0x" + "4c" * 32)
os.environ.setdefault("WEB3_ALLOW_PRIVATE_ENDPOINTS", "true")

from openclaw.settings import *  # noqa: E402,F403
from openclaw.settings import INSTALLED_APPS  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
WEB3_EXTRA_METHOD_MODULES = ["tests.testapp.methods"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WEB3_IDEMPOTENCY_WAIT_SEC = 2.0
WEB3_READ_ONLY_GUARD = True  # a read-only method that writes fails the test that calls it

# The SQLite test database is a file (WAL, busy timeout, IMMEDIATE, as in production), not
# shared-cache memory, whose table locks fail at once instead of waiting: threads in the
# concurrency tests then contend the way the web server, worker and beat processes do.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405
# Rate-limit counters are per test process, so xdist workers sharing one Redis never mix them.
CACHES["default"]["KEY_PREFIX"] = f"t{os.getpid()}"  # noqa: F405
# whitenoise wants STATIC_ROOT to exist; collectstatic is not run for tests.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
