"""Settings for the benchmark's server only: the product's settings plus a baseline view
(bench/urls.py). Never used by the product itself."""

from openclaw.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
