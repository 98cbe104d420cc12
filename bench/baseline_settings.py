"""The configuration before the changes the benchmarks led to, to measure them side by side:

    BENCH_SETTINGS_MODULE=bench.baseline_settings .venv/bin/python bench/fanout.py ...

- WhiteNoise second in MIDDLEWARE (15 thread hops per request instead of 5);
- Channels' own in-memory layer (O(N²) housekeeping per fanned-out event);
- channels_redis' list-based layer instead of its pub/sub layer.
"""

from aleph_site.settings import *  # noqa: F403
from aleph_site.settings import CHANNEL_CONFIG, CHANNEL_LAYERS, MIDDLEWARE, REDIS_URL

WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"
MIDDLEWARE = [m for m in MIDDLEWARE if m != WHITENOISE]
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, WHITENOISE)

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {**CHANNEL_CONFIG, **CHANNEL_LAYERS["default"]["CONFIG"]},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": CHANNEL_CONFIG}
    }
