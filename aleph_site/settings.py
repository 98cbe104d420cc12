"""Settings for Aleph Arena, read from the environment in this one place.

Defaults run the service on a fresh machine: SQLite in WAL mode and the in-memory channel
layer. `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and Redis. See README.md,
"Configuration", for every variable.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG=0.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "arenas",
]

# WhiteNoise comes last, not second as its docs suggest: it can only run synchronously, and
# under Django's own ASGI handler a sync-only middleware between async-capable ones makes it
# switch threads around every hook of the middleware inside it (15 thread hops per request
# instead of 5, docs/performance.md). aleph_site/handlers.py now builds the whole chain
# synchronously, run in one hand-over, but the order stays right for any handler. Static
# files are still served before any view; the middleware above it are lazy for them.
MIDDLEWARE = [
    # First: it times the whole chain and records every answer (arenas/metrics/exposition.py).
    "arenas.metrics.exposition.record_requests",
    "arenas.api.middleware.api_json_errors",
    "arenas.api.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
]

ROOT_URLCONF = "aleph_site.urls"

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
                "arenas.dashboard.context.open_requests",
            ],
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "aleph_site.asgi.application"

# --- Database -----------------------------------------------------------------------------
# SQLite is configured for concurrent writers: WAL lets readers run beside one writer,
# busy_timeout makes a writer wait for the lock, and IMMEDIATE transactions take the write
# lock at BEGIN so two writers queue instead of failing with "database is locked" when one
# upgrades a read lock. select_for_update() is a no-op on SQLite; IMMEDIATE is what
# serialises writers there.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
    ),
}
# Django's SQLite backend, keeping the connections each request closes open for the next
# (aleph_site/sqlite/base.py): opening one per request cost more than the request's own work.
# ALEPH_DB_POOL=0 opens one per request, as Django does.
SQLITE_ENGINE = "aleph_site.sqlite"
if env_bool("ALEPH_DB_POOL", True):
    SQLITE_OPTIONS["pool"] = {"max_idle": int(os.environ.get("ALEPH_DB_POOL_SIZE", "20"))}

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # CONN_MAX_AGE=0: under ASGI every request runs in a thread of its own, so persistent
    # connections would pile up one per thread; PostgreSQL connections come from psycopg's
    # pool (or are opened per request with ALEPH_DB_POOL=0). See docs/deploy.md.
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=False)
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        _db["OPTIONS"] = {**SQLITE_OPTIONS, **_db.get("OPTIONS", {})}
        _db["ENGINE"] = SQLITE_ENGINE
    elif _db["ENGINE"] == "django.db.backends.postgresql" and env_bool(
        "ALEPH_DB_PREPARED_STATEMENTS", True
    ):
        # Server-side binding lets psycopg prepare a statement on a connection once it has
        # run twice there; with pooled connections the write path's statements are then
        # planned once per connection instead of on every request (PostgreSQL's CPU per step
        # completion 1.7 -> 0.9 ms, docs/performance.md). Turn it off behind a pooler that
        # cannot keep prepared statements (PgBouncer in transaction mode before 1.21).
        _db["OPTIONS"] = {
            **_db.get("OPTIONS", {}),
            "server_side_binding": True,
            "prepare_threshold": int(os.environ.get("ALEPH_DB_PREPARE_THRESHOLD", "2")),
        }
    # psycopg's connection pool, on by default: without it each request opens a connection
    # (measured: 76 against 118 step completions/s, fan-out p99 2.0 s against 0.49 s).
    # ALEPH_DB_POOL=0 behind a pooler such as PgBouncer.
    if _db["ENGINE"] == "django.db.backends.postgresql" and env_bool("ALEPH_DB_POOL", True):
        _db["OPTIONS"] = {
            **_db.get("OPTIONS", {}),
            "pool": {"min_size": 2, "max_size": int(os.environ.get("ALEPH_DB_POOL_SIZE", "20"))},
        }
        # Django's backend with a pool that checks each connection before handing it out and,
        # on meeting a broken one (a database restart), replaces every broken idle connection
        # at once instead of backing off before each (aleph_site/postgresql/base.py).
        _db["ENGINE"] = "aleph_site.postgresql"
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": SQLITE_ENGINE,
            "NAME": BASE_DIR / "db.sqlite3",
            "OPTIONS": SQLITE_OPTIONS,
        }
    }
# The test database: a file for SQLite (so threads and WAL behave as in production, which a
# shared-cache in-memory database does not), and a name of its own per run when
# ALEPH_TEST_DB_NAME is set, so parallel runs on one PostgreSQL server do not collide.
if DATABASES["default"]["ENGINE"] == SQLITE_ENGINE:
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("ALEPH_TEST_DB_NAME") or str(BASE_DIR / ".pytest-db.sqlite3")
    }
elif os.environ.get("ALEPH_TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["ALEPH_TEST_DB_NAME"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer ------------------------------------------------------------------------
# The channel layer is only a doorbell: the event log in the database is the truth, and a
# consumer fills any gap from it (docs/live.md). capacity: doorbells queued per consumer
# before the layer drops more (a consumer that far behind reads the log instead); expiry:
# seconds a queued doorbell lives; group_expiry: Daphne's websocket_timeout (86400 s), so
# group membership outlives every connection. (These are the in-memory layer's; the Redis
# pub/sub layer below keeps no queue in Redis.)
REDIS_URL = os.environ.get("REDIS_URL", "")
CHANNEL_CONFIG = {
    "capacity": int(os.environ.get("ALEPH_CHANNEL_CAPACITY", "1000")),
    "expiry": 60,
    "group_expiry": 86400,
}
if REDIS_URL:
    from redis.exceptions import ConnectionError as RedisConnectionError

    # Redis pub/sub: a doorbell is one PUBLISH per arena group, and each process hands it to
    # its own subscribers in memory. channels_redis' list-based layer costs each subscriber
    # its own queue and wake-up per doorbell (230 µs of server CPU per delivery at 1,000
    # subscribers against 137 µs, docs/performance.md). It keeps no per-channel capacity or
    # expiry, which a doorbell does not need: the event log fills any gap.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # A pooled connection to a Redis that restarted fails its next command: one
                # immediate retry on a fresh connection instead of failing that websocket.
                # A Redis that accepts no connection is given up on after 5 s. Reads wait
                # 15 s, not redis-py 8's default 5 s.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "retry_on_error": [RedisConnectionError],
                        "socket_connect_timeout": 5,
                        "socket_timeout": 15,
                    }
                ],
                "prefix": os.environ.get("ALEPH_CHANNEL_PREFIX", "asgi"),
            },
        }
    }
else:
    # Channels' in-memory layer with housekeeping that does not grow with the audience
    # (arenas/live/layers.py): fan-out to N feeds costs O(N), not O(N²).
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "arenas.live.layers.InMemoryChannelLayer", "CONFIG": CHANNEL_CONFIG}
    }
# Every poll, each process checks its feeds against the log for lost doorbells (docs/live.md).
ALEPH_LIVE_POLL_SECONDS = float(os.environ.get("ALEPH_LIVE_POLL_SECONDS", "2"))
# Threads of each process for the live side's database work (handshakes, snapshots, replays,
# the poll, the claim sweep): at most this many of its database connections (arenas/stream/db.py).
ALEPH_LIVE_DB_THREADS = int(os.environ.get("ALEPH_LIVE_DB_THREADS", "8"))
# Every sweep, each process records the expiry of lapsed claims (arenas/stream/sweeper.py).
ALEPH_CLAIM_SWEEP_SECONDS = float(os.environ.get("ALEPH_CLAIM_SWEEP_SECONDS", "5"))

# --- Webhooks (arenas/webhooks/) -------------------------------------------------------------
# Receivers over plain http, and on loopback, private, link-local or multicast addresses, are
# refused unless allowed (a deployment whose receivers live on its own network; the tests).
ALEPH_WEBHOOK_ALLOW_HTTP = env_bool("ALEPH_WEBHOOK_ALLOW_HTTP", False)
ALEPH_WEBHOOK_ALLOW_PRIVATE = env_bool("ALEPH_WEBHOOK_ALLOW_PRIVATE", False)
# Deliveries in flight per process; 0 leaves delivery to `manage.py deliver_webhooks`.
ALEPH_WEBHOOK_CONCURRENCY = int(os.environ.get("ALEPH_WEBHOOK_CONCURRENCY", "8"))
# How often each deliverer looks for events committed by other processes.
ALEPH_WEBHOOK_POLL_SECONDS = float(os.environ.get("ALEPH_WEBHOOK_POLL_SECONDS", "1"))
# How long a process holds a cursor it delivers; another takes it over after this long if the
# process dies. Longer than an attempt's 10 s timeout.
ALEPH_WEBHOOK_LEASE_SECONDS = max(15.0, float(os.environ.get("ALEPH_WEBHOOK_LEASE_SECONDS", "30")))

# --- Metrics (arenas/metrics/) ---------------------------------------------------------------
# GET /metrics answers `Authorization: Bearer <token>`; unset, nothing is recorded and the
# endpoint answers 404. Several processes share their figures through the directory named by
# PROMETHEUS_MULTIPROC_DIR, which prometheus-client reads itself (docs/deploy.md).
ALEPH_METRICS_TOKEN = os.environ.get("ALEPH_METRICS_TOKEN", "")

# A JSON file of model prices that add to or override the genai-prices table when usage
# reports are priced (arenas/prices.py describes its format); empty: the table alone.
ALEPH_MODEL_PRICES = os.environ.get("ALEPH_MODEL_PRICES", "")
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "arenas.dashboard.storage.ManifestOrFinderStorage"
        )
    },
}
# Without collectstatic (make run with DJANGO_DEBUG=0), whitenoise serves from the finders.
WHITENOISE_USE_FINDERS = True

# --- Security (production values when DJANGO_DEBUG=0) -----------------------------------------
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", not DEBUG)
# DJANGO_HSTS_PRELOAD=0 is a deliberate choice (a preloaded domain stays HTTPS-only in every
# browser for months), not a misconfiguration for `check --deploy` to report.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("DJANGO_BEHIND_TLS_PROXY", not DEBUG):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^api/health/?$", r"^metrics/?$"]

# --- REST API -----------------------------------------------------------------------------------
ALEPH_AGENT_THROTTLE_RATE = os.environ.get("ALEPH_AGENT_THROTTLE_RATE", "1200/minute")
# 8 MiB: an artifact's 1 MiB of content fits in any JSON escaping (up to 6 bytes a byte).
ALEPH_MAX_BODY_BYTES = int(os.environ.get("ALEPH_MAX_BODY_BYTES", str(8 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = ALEPH_MAX_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "arenas.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Aleph Arena API",
    "DESCRIPTION": "REST API for agents collaborating in arenas. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_PATCH": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "arenas.api.schema.add_error_headers",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ArenaStatusEnum": "arenas.models.Status",
        "RoleEnum": "arenas.models.Role",
        "CallerRoleEnum": "arenas.api.schema.CALLER_ROLES",
        "HealthStatusEnum": "arenas.api.schema.HEALTH_STATUSES",
        "SlotStatusEnum": "arenas.models.SlotStatus",
        "StrategyEnum": "arenas.models.Strategy",
        "ArtifactKindEnum": "arenas.models.ArtifactKind",
        "RequestKindEnum": "arenas.models.RequestKind",
        "RequestStatusEnum": "arenas.models.RequestStatus",
        "ReviewStateEnum": "arenas.api.schema.REVIEW_STATES",
        "PresenceEnum": "arenas.agents.PRESENCES",
        "WebhookDisabledReasonEnum": "arenas.models.WebhookDisabled",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "filters": {
        "once_per_minute": {"()": "arenas.logs.OncePerMinute"},
        "expected_refusals": {"()": "arenas.logs.ExpectedRefusals"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The MCP SDK logs every stateless request at INFO ("Terminating session: None").
        "mcp": {"level": "WARNING"},
        # While Redis is down, channels_redis logs a traceback every second.
        "channels_redis.pubsub": {"filters": ["once_per_minute"]},
        # Django logs every 4xx answer, a 403 with its traceback (arenas/logs.py).
        "django.request": {"filters": ["expected_refusals"]},
        # While the database is down, every request answers 503 (arenas/errors.py), and each
        # process's claim sweep and catch-up poll fail every few seconds.
        "arenas.errors": {"filters": ["once_per_minute"]},
        "arenas.stream.sweeper": {"filters": ["once_per_minute"]},
        "arenas.stream.hub": {"filters": ["once_per_minute"]},
        "arenas.webhooks.deliverer": {"filters": ["once_per_minute"]},
        "arenas.metrics.database": {"filters": ["once_per_minute"]},
        # httpx logs every webhook delivery at INFO; failures are recorded on the cursor.
        "httpx": {"level": "WARNING"},
    },
}
