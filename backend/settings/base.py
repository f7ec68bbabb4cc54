"""Settings shared by every environment. Each value is read from the environment.

Development and test defaults live in local.py and test.py; production.py has no defaults for
secrets and refuses to start without them.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
import structlog
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from backend.core import broker
from backend.core.queues import ROUTINE, queue_names, task_routes
from backend.core.shards import shard_name, shards_of

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "csp",
    "django_htmx",
    "channels",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework_simplejwt.token_blacklist",
    "backend.accounts",
    "backend.core",
    "backend.telephony",
    "elders",
    "providers",
    "dispatch",
    "hotline",
    "alarms",
    "console",
    "family",
    "workerapp",
    "settlement",
    "district",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common (Django's documented place): Accept-Language, else zh-hans.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session passed the second factor (staff, the admin).
    "django_otp.middleware.OTPMiddleware",
    # A signed-in user's own language over Accept-Language (a JWT's: the API's authentication).
    "backend.core.i18n.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.htmx: the console's fragments answer htmx's requests (console/).
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a lockout noticed during a Django login (session, admin) into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out (account, address) pair before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Authorises only: a staff role's admin rights come from the role, not from being a superuser.
    "backend.accounts.backends.RolePermissionBackend",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# Maps: the admin's map widget (backend/core/maps.py) and the console's maps (console/static/
# console/map.js); {a-c} in the host picks one of its subdomains. Tiles are web mercator in the
# system ANXIN_MAP_TILE_CRS names: wgs84 (OpenStreetMap and most outside China) or gcj02 (the
# Chinese services: AMap, Tencent). Points are stored in WGS-84: on gcj02 tiles the console
# converts each point it draws (else it lands up to several hundred metres off). The admin's
# widget draws and reads points as they are stored, so it needs wgs84 tiles.
ANXIN_MAP_TILE_URL = env.str(
    "ANXIN_MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png"
)
ANXIN_MAP_TILE_CRS = env.str("ANXIN_MAP_TILE_CRS", default="wgs84")
if ANXIN_MAP_TILE_CRS not in ("wgs84", "gcj02"):
    raise ImproperlyConfigured("ANXIN_MAP_TILE_CRS must be wgs84 or gcj02")
# How often the console map's live positions go out: one batch per district of the workers that
# moved (console/positions.py), not one message per position report.
ANXIN_MAP_PUSH_S = env.float("ANXIN_MAP_PUSH_S", default=3)
ANXIN_MAP_TILE_ATTRIBUTION = env.str(
    "ANXIN_MAP_TILE_ATTRIBUTION", default="© OpenStreetMap contributors"
)
# OpenLayers for the admin's map: the files Django's own widget names. A deployment that serves
# them itself points these at its static files, and the policy below then names no other host.
ANXIN_MAP_SCRIPT_URL = env.str(
    "ANXIN_MAP_SCRIPT_URL", default="https://cdn.jsdelivr.net/npm/ol@v7.2.2/dist/ol.js"
)
ANXIN_MAP_STYLE_URL = env.str(
    "ANXIN_MAP_STYLE_URL", default="https://cdn.jsdelivr.net/npm/ol@v7.2.2/ol.css"
)


def _elsewhere(url: str) -> list[str]:
    """A URL on another host as a CSP source: the exact file (a path ending in a name)."""
    return [url] if url.startswith(("https://", "http://")) else []


def _tile_hosts(template: str) -> list[str]:
    """A tile URL template's scheme and host as a CSP source; {a-c} or {s} becomes *."""
    if not template.startswith(("https://", "http://")):
        return []
    scheme, _, rest = template.partition("://")
    host = re.sub(r"\{[^}]*\}", "*", rest.split("/", 1)[0])
    return [f"{scheme}://{host}"]


# Content-Security-Policy (django-csp), the same in every environment so a page that breaks it
# breaks in development: no eval, no inline script or style without the response's nonce
# ({{ CSP_NONCE }} in templates), no inline event handlers, nothing from another host but the
# map's files and tiles. Pages: README "Pages under the Content-Security-Policy".
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE, *_elsewhere(ANXIN_MAP_SCRIPT_URL)],
        "style-src": [csp.SELF, csp.NONCE, *_elsewhere(ANXIN_MAP_STYLE_URL)],
        "img-src": [csp.SELF, "data:", *_tile_hosts(ANXIN_MAP_TILE_URL)],
        "connect-src": [csp.SELF],
        "font-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}
if env.str("ANXIN_CSP_REPORT_URI", default=""):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = env.str("ANXIN_CSP_REPORT_URI")

DATABASES = {
    "default": env.db_url("DATABASE_URL", engine="django.contrib.gis.db.backends.postgis"),
}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
# Under ASGI each request may run in a different thread: a pool beats long CONN_MAX_AGE. Each
# process has its own pool of at most DATABASE_POOL_MAX connections (deploy/web and deploy/up
# set it per process, to what the budget counts); a request that waits DATABASE_POOL_TIMEOUT
# for one is answered 503 with Retry-After. The budget across processes: docs/serving.md.
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = (
    {
        "min_size": env.int("DATABASE_POOL_MIN", default=1),
        # Opened only as needed: a process that does not set it (a Celery worker started by
        # hand, with a thread per task and the watchdog's) never waits for one of its own.
        "max_size": env.int("DATABASE_POOL_MAX", default=10),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=5.0),
    }
    if env.bool("DATABASE_POOL", default=True)
    else False
)
# Short OLTP queries, on a working set held in memory. Measured in the matching benchmark's
# plans at 100,000 workers (docs/dispatch.md):
# - parallel workers cost more to start than the queries take (35 ms of 40);
# - PostGIS declares its functions expensive, so a 2 ms query crosses jit_above_cost and spends
#   7 ms compiling itself;
# - the default random_page_cost (4, for spinning disks) makes the planner read every matchable
#   worker in the radius's box (a bitmap scan, ~15 ms) instead of walking the GiST index nearest
#   first and stopping (~1 ms); 1.1 is the usual figure for SSD or cached data.
# Reports that want parallel plans or JIT can SET them locally.
DATABASES["default"]["OPTIONS"]["options"] = (
    "-c max_parallel_workers_per_gather=0 -c jit=off -c random_page_cost=1.1"
)
# Through PgBouncer in transaction mode (docs/production.md): each transaction may run on another
# server connection, so nothing may outlive one. psycopg's prepared statements (after 5 runs of a
# query) and server-side cursors (.iterator()) would be looked for on the wrong connection, and
# PgBouncer refuses the startup `options` above: set those on the role instead (ALTER ROLE ... SET).
if env.bool("DATABASE_PGBOUNCER", default=False):
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
    del DATABASES["default"]["OPTIONS"]["options"]
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True

if env.str("DATABASE_NAME", default=""):
    # Test subprocesses (ASGI server, Celery worker) are pointed at the test database by name.
    DATABASES["default"]["NAME"] = env.str("DATABASE_NAME")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL")
REDIS_DB_CHANNELS = env.int("REDIS_DB_CHANNELS", default=0)
REDIS_DB_CELERY = env.int("REDIS_DB_CELERY", default=1)
REDIS_DB_CACHE = env.int("REDIS_DB_CACHE", default=4)

# Throttles, lockouts, one-time codes and token versions: shared by every server process, so a
# limit holds however many there are. Redis going away fails open (backend/core/cache.py).
CACHES = {
    "default": {
        "BACKEND": "backend.core.cache.ResilientRedisCache",
        "LOCATION": f"{REDIS_URL}/{REDIS_DB_CACHE}",
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="anxin"),
        "TIMEOUT": 3600,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# Client addresses: X-Forwarded-For is read only when this many proxies of ours stand in front
# (each appends the address it saw); with none, the socket's address is the client's.
ANXIN_TRUSTED_PROXIES = env.int("ANXIN_TRUSTED_PROXIES", default=0)

# Password guessing (django-axes): five wrong in a row lock that account from that address for
# the cool-off (each further try starts it again); the owner elsewhere is not locked out, so an
# attacker cannot lock operators out during an emergency. A supervisor unlocks (the API).
AXES_HANDLER = "backend.accounts.lockout.LockoutHandler"
AXES_CACHE = "default"
AXES_FAILURE_LIMIT = env.int("ANXIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ANXIN_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "backend.accounts.addresses.client_address"
AXES_LOCKOUT_CALLABLE = "backend.accounts.lockout.lockout_response"

# Second factor for staff (django-otp, TOTP): the token endpoint, the session login, the admin.
OTP_TOTP_ISSUER = "Anxin"

# Every password set through the API or the admin (backend/accounts/services.py password_check).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py's pool refuses (rather than waits) past max_connections; a burst of
            # workers reconnecting at once needs one per concurrent group_add.
            "hosts": [
                {
                    "address": f"{REDIS_URL}/{REDIS_DB_CHANNELS}",
                    "max_connections": env.int("ANXIN_CHANNELS_MAX_CONNECTIONS", default=1000),
                    # redis-py 8 reads with a 5 s timeout by default, the same as the layer's
                    # blocking pop: every idle socket died with 1011 every 5 s. Read longer.
                    "socket_timeout": 15,
                    "socket_connect_timeout": 5,
                }
            ],
            "prefix": env.str("CHANNELS_PREFIX", default="anxin"),
            "capacity": 500,
        },
    }
}

# The broker: by default REDIS_URL's database REDIS_DB_CELERY. CELERY_BROKER_URL names another, as
# Celery takes it (docs/production.md, "The broker"): a Redis of its own (redis://, rediss://),
# Redis behind Sentinel (sentinel://s1:26379/1;sentinel://s2:26379/1, and
# CELERY_BROKER_SENTINEL_MASTER) or RabbitMQ (amqp://, amqps://). Only the broker moves: the
# channel layer and the cache above stay on REDIS_URL. Celery reads this same variable from the
# environment itself, before any setting: the two never disagree.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or f"{REDIS_URL}/{REDIS_DB_CELERY}"
try:
    _broker_transport = broker.broker_transport(CELERY_BROKER_URL)
except ValueError as exc:
    raise ImproperlyConfigured(f"CELERY_BROKER_URL: {exc}") from None
CELERY_RESULT_BACKEND = None
# Nothing reads a task's result. And the (disabled) result backend is one object for the whole
# process: by default Celery looks it up again in every new thread, scanning every installed
# package's entry points to do so, and every request runs in a thread of its own; that scan was
# an eighth of a web process's time under load (py-spy, docs/serving.md).
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND_THREAD_SAFE = True
# Queues by urgency (backend/core/queues.py): alarm, urgent, routine, notify, device and bulk,
# each named from CELERY_QUEUE (local.py: anxin, test.py: anxin-test, production.py: anxin-prod)
# and each with a worker of its own (deploy/up). A routed task no worker consumes waits forever:
# `manage.py check_queues` and /healthz name a queue nobody consumes.
ANXIN_QUEUES = queue_names(env.str("CELERY_QUEUE"))
CELERY_TASK_QUEUES = [Queue(q, Exchange(q), routing_key=q) for q in ANXIN_QUEUES.values()]
CELERY_TASK_DEFAULT_QUEUE = ANXIN_QUEUES[ROUTINE]
CELERY_TASK_ROUTES = task_routes(ANXIN_QUEUES)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The worker and beat log through LOGGING below (its redacting filter), not handlers of their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = "UTC"
# On Redis, a message a worker took and never acknowledged (the whole worker killed, not just a
# child: reject_on_worker_lost re-queues that one at once) is delivered again after this. Deadlines
# live in the database and the sweeps act on them whatever happens to a message; this bounds how
# late a lost task is re-run. A countdown longer than it is not sent: the sweepers start that
# work (dispatch/services/_core.py MAX_COUNTDOWN_S).
# RabbitMQ has no visibility timeout (it is not passed there): an unacknowledged message comes
# back as soon as its consumer's connection closes, and RabbitMQ closes a channel that holds one
# longer than its consumer_timeout (30 min by default). The worker holds a countdown's message
# unacknowledged until it is due, so there this keeps countdowns under consumer_timeout.
CELERY_BROKER_VISIBILITY_S = env.int("ANXIN_BROKER_VISIBILITY_S", default=600)
_broker_options: dict = {}
if _broker_transport in (broker.REDIS, broker.SENTINEL):
    _broker_options["visibility_timeout"] = CELERY_BROKER_VISIBILITY_S
if _broker_transport == broker.SENTINEL:
    # kombu's Sentinel transport asks the Sentinels for this group's primary, and again after a
    # failover. Without it kombu fails at the first connection, long after the process started.
    _broker_options["master_name"] = env.str("CELERY_BROKER_SENTINEL_MASTER", default="")
    if not _broker_options["master_name"]:
        raise ImproperlyConfigured(
            "CELERY_BROKER_URL is a sentinel:// URL: set CELERY_BROKER_SENTINEL_MASTER to the "
            "name of the Redis group the Sentinels watch (their `sentinel monitor <name> ...`)"
        )
    # The password in the URL is the Redis primary's; Sentinels that require one of their own
    # (requirepass in sentinel.conf) get it here.
    if env.str("CELERY_BROKER_SENTINEL_PASSWORD", default=""):
        _broker_options["sentinel_kwargs"] = {
            "password": env.str("CELERY_BROKER_SENTINEL_PASSWORD")
        }
# Without timeouts a publish to a broker that hangs (rather than refuses) waits forever, and so
# does the request that commits a work order. Reads above kombu's 1 s BRPOP on Redis. Each
# client library names them its own way (backend/core/broker.py).
CELERY_BROKER_TRANSPORT_OPTIONS = broker.broker_timeouts(
    _broker_transport, _broker_options, connect_s=2, read_s=3
)
# A broker outage is waited out, never a reason to exit: at start-up (deploy/up may start the
# worker before Redis answers) and after a lost connection, however long it lasts.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Tasks are short and idempotent: one that ran while the connection was lost is redelivered and
# does nothing; cancelling it (Celery 6's default) would kill a prefork child mid-transaction.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# The worker surviving a broker restart also depends on the Celery version: see the pin in
# pyproject.toml (Celery 5.7.0 dies with AttributeError 'hostname' when Redis goes away).
# Each entry goes to its task's queue and expires after its own period: a backlog of sweeps (a
# worker that was down) is not run in a burst, and each sweep's advisory lock keeps two of it from
# ever running at once. The sweeps' periods can be shortened (the end-to-end tests' beat).
# Watched: the watchdog expects it to have run within ANXIN_TIMER_STALE_S.
_PERIODIC = [
    # Alarms' deadlines (dispatch by the platform, re-send, announce again): their own queue and
    # worker, every 2 s, so the platform's share of the 30 s acknowledgement target stays small.
    ("alarms", "alarms.tasks.alarms_sweep", env.float("ANXIN_ALARM_SWEEP_S", 2), True),
    # Devices' missed heartbeats and the device lane's catch-up (docs/alarms.md, "Heartbeats"):
    # low priority, on the device lane. Not watched: the beat that sends it is the one the alarm
    # sweep's watch covers, a dead device worker is named by the queue check, and a device lane
    # behind a storm of heartbeats must not raise the all-districts watchdog alarm.
    ("devices", "alarms.tasks.devices_sweep", env.float("ANXIN_DEVICE_SWEEP_S", 30), False),
    # What heartbeats and battery reports lead to, applied from their rows (the request sends
    # nothing to Redis for them): every 5 s, on the device lane.
    (
        "device-messages",
        "alarms.tasks.device_messages_apply_pending",
        env.float("ANXIN_DEVICE_APPLY_S", 5),
        False,
    ),
    ("sweep-urgent", "dispatch.tasks.sweep_urgent", env.float("ANXIN_SWEEP_URGENT_S", 5), True),
    ("sweep-routine", "dispatch.tasks.sweep_routine", env.float("ANXIN_SWEEP_ROUTINE_S", 10), True),
    ("housekeeping", "backend.core.tasks.housekeeping_purge", 3600.0, False),
    ("notifications-purge", "backend.telephony.tasks.notifications_purge", 6 * 3600.0, False),
    ("device-messages-purge", "alarms.tasks.device_messages_purge", 6 * 3600.0, False),
    ("care-plans", "dispatch.tasks.care_plans_generate", 900.0, False),
    ("providers-daily", "providers.tasks.providers_daily", 6 * 3600.0, False),
    # The console map's live positions: one message per district with the workers that moved
    # (console/positions.py), on the device lane with the other telemetry. Not watched: a
    # position is a hint, and the map reloads its snapshot after a reconnect.
    ("map-positions", "console.tasks.map_positions_push", ANXIN_MAP_PUSH_S, False),
    # The hotline's callers nobody hears from any more, and takes whose operator never answered.
    # Same beat and urgent lane as sweep-urgent, whose watch covers both.
    ("hotline", "hotline.tasks.calls_sweep", env.float("ANXIN_HOTLINE_SWEEP_S", 15), False),
    # Notifications that came due (quiet hours over) or whose delivery was lost: the guarantee
    # behind emergency calls, so watched, and on the urgent lane.
    (
        "notifications",
        "backend.telephony.tasks.notifications_sweep",
        env.float("ANXIN_NOTIFY_SWEEP_S", 15),
        True,
    ),
]
# Sweeps split by district for a province (backend/core/shards.py, docs/capacity.md): N entries
# of the task each period, each over its share of the districts, each under a lock and a
# watchdog timer of its own. `manage.py simulate_province` says when one is no longer enough.
ANXIN_SWEEP_SHARDS = {
    "alarms.tasks.alarms_sweep": env.int("ANXIN_ALARM_SWEEP_SHARDS", default=1),
    "alarms.tasks.device_messages_apply_pending": env.int("ANXIN_DEVICE_APPLY_SHARDS", default=1),
}
_ENTRIES = [
    (shard_name(name, shard, n), task, every, watched, kwargs)
    for name, task, every, watched in _PERIODIC
    for n in [ANXIN_SWEEP_SHARDS.get(task, 1)]
    for shard, kwargs in shards_of(n)
]
CELERY_BEAT_SCHEDULE = {
    name: {
        "task": task,
        "schedule": every,
        "kwargs": kwargs,
        "options": {"queue": CELERY_TASK_ROUTES[task]["queue"], "expires": every},
    }
    for name, task, every, _, kwargs in _ENTRIES
}
# The watchdog for the timers (backend/core/watchdog.py): a watched sweep that has not run for
# this long fails /healthz and alerts the staff of every district, once per episode. /healthz
# checks on every probe, and a thread in every Celery worker process every interval, so that
# beat dying is noticed without beat. A split sweep: each shard's timer (its districts').
ANXIN_WATCHED_TIMERS = [
    shard_name(task, kwargs.get("shard", 0), kwargs.get("shards", 1))
    for _, task, _, watched, kwargs in _ENTRIES
    if watched
]
ANXIN_TIMER_STALE_S = env.int("ANXIN_TIMER_STALE_S", default=60)
ANXIN_WATCHDOG_INTERVAL_S = env.float("ANXIN_WATCHDOG_INTERVAL_S", default=15)

# Chinese first (issue 12): msgids are English, translations in locale/zh_Hans (compiled by
# deploy/up and deploy/test). The language of a response: the signed-in user's own setting
# (User.language, applied by the API's authentication) > Accept-Language (LocaleMiddleware) >
# LANGUAGE_CODE. Each language is named in itself, so the labels never need translating.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
DISPLAY_TIME_ZONE = env.str("ANXIN_DISPLAY_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
VAR_DIR = Path(env.str("ANXIN_VAR_DIR", default=str(BASE_DIR / "var")))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Both refuse staff who signed in without the second factor.
        "backend.accounts.authentication.TokenAuthentication",
        "backend.accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "backend.core.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "backend.core.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "backend.core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "backend.accounts.throttles.AnonThrottle",
        "backend.accounts.throttles.RoleWriteThrottle",
    ],
    # Writes per role (a worker's position posts included: the service keeps one per 10 s and
    # answers the rest), new work orders and emergencies per family member (each emergency
    # texts and calls every contact), and anything anonymous (the token endpoints) per address.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("ANXIN_THROTTLE_ANON", default="120/min"),
        "write.operator": "300/min",
        "write.supervisor": "300/min",
        "write.district_admin": "300/min",
        "write.provider_admin": "120/min",
        "write.worker": "120/min",
        "write.family": env.str("ANXIN_THROTTLE_FAMILY_WRITES", default="60/hour"),
        "requests.family": env.str("ANXIN_THROTTLE_FAMILY_REQUESTS", default="10/hour"),
        "emergencies.family": env.str("ANXIN_THROTTLE_FAMILY_EMERGENCIES", default="3/hour"),
        # Per alarm device (its serial), on the signed alarm endpoint (docs/alarms.md).
        "alarms": env.str("ANXIN_THROTTLE_ALARMS", default="600/min"),
    },
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    # A refresh token is spent on use: the answer carries the next one, the old one is refused.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Anxin API",
    "DESCRIPTION": (
        "Community elderly-care dispatch. Coordinates are GeoJSON [longitude, latitude] in "
        "WGS-84 unless a field says it takes GCJ-02. Times are UTC ISO 8601. Phone numbers are "
        "E.164 on the wire."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ProviderKindEnum": "providers.models.ProviderKind.choices",
        "CertificateKindEnum": "providers.models.CertificateKind.choices",
        "SanctionKindEnum": "providers.models.SanctionKind.choices",
        "DeviceKindEnum": "elders.models.DeviceKind.choices",
        "AlarmMessageKindEnum": "alarms.models.MessageKind.choices",
        "PriceUnitEnum": "providers.models.PriceUnit.choices",
        "EntitlementUnitEnum": "settlement.models.EntitlementUnit.choices",
    },
}

PHONENUMBER_DEFAULT_REGION = "CN"
PHONENUMBER_DB_FORMAT = "E164"

# Encryption at rest for ID numbers (see backend/core/crypto.py for rotation).
ANXIN_FIELD_KEYS = env.list("ANXIN_FIELD_KEYS")
ANXIN_LOOKUP_HASH_KEY = env.str("ANXIN_LOOKUP_HASH_KEY")

# Lets a monitor read /healthz's per-component detail (X-Health-Token); empty: staff only.
ANXIN_HEALTH_TOKEN = env.str("ANXIN_HEALTH_TOKEN", default="")

NOTIFICATION_BACKEND = env.str(
    "ANXIN_NOTIFICATION_BACKEND", default="backend.telephony.backends.FileBackend"
)
NOTIFICATION_FILE = Path(env.str("ANXIN_NOTIFICATION_FILE", default=str(VAR_DIR / "outbox.jsonl")))

# Twilio (backend/telephony/twilio_backend.py, docs/telephony.md). The auth token also checks
# the signature of every webhook Twilio sends to /hooks/twilio/; ANXIN_PUBLIC_URL is the address
# Twilio calls us at (scheme and host, no trailing slash), from which the signed URLs are built.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
ANXIN_PUBLIC_URL = env.str("ANXIN_PUBLIC_URL", default="").rstrip("/")

# Dispatch knobs: every one can be changed per deployment.
# Offer timeouts, fan-out, rounds, SLA targets and alert re-send intervals are per service type
# (dispatch.ServiceType, edited in the admin; defaults in dispatch/catalogue.py).
ANXIN = {
    "MATCH_RADIUS_M": env.int("ANXIN_MATCH_RADIUS_M", default=5000),
    "GEOFENCE_M": env.int("ANXIN_GEOFENCE_M", default=200),
    # A check-in more than this long before the visit's window opens is refused.
    "EARLY_CHECK_IN_H": env.float("ANXIN_EARLY_CHECK_IN_H", default=2),
    # A check-in or check-out whose phone time (`client_at`) is this far from the server's is
    # flagged for a supervisor (`late_sync`); one ahead of the server's by more than the
    # tolerance is refused (the phone's clock is wrong).
    "CLIENT_TIME_GAP_M": env.int("ANXIN_CLIENT_TIME_GAP_M", default=10),
    "CLIENT_TIME_AHEAD_S": env.int("ANXIN_CLIENT_TIME_AHEAD_S", default=120),
    "LOCATION_MAX_AGE_S": env.int("ANXIN_LOCATION_MAX_AGE_S", default=900),
    "LOCATION_MIN_INTERVAL_S": env.float("ANXIN_LOCATION_MIN_INTERVAL_S", default=10),
    "TRACE_KEEP_DAYS": env.int("ANXIN_TRACE_KEEP_DAYS", default=7),
    # The notification log (backend/telephony): how long its rows are kept.
    "NOTIFICATION_KEEP_DAYS": env.int("ANXIN_NOTIFICATION_KEEP_DAYS", default=180),
    "CERT_NOTICE_DAYS": env.int("ANXIN_CERT_NOTICE_DAYS", default=30),
    "WS_TICKET_TTL_S": env.int("ANXIN_WS_TICKET_TTL_S", default=30),
    "IDEMPOTENCY_TTL_H": env.int("ANXIN_IDEMPOTENCY_TTL_H", default=48),
    "REASSESS_AFTER_DAYS": env.int("ANXIN_REASSESS_AFTER_DAYS", default=365),
    "GRANT_SLACK_H": env.int("ANXIN_GRANT_SLACK_H", default=2),
    "CLOSE_AFTER_H": env.int("ANXIN_CLOSE_AFTER_H", default=72),
    # Input bounds: a JSON body, and a polygon (a service area, an elder-list `within`).
    "MAX_JSON_BYTES": env.int("ANXIN_MAX_JSON_BYTES", default=1_000_000),
    "MAX_POLYGON_VERTICES": env.int("ANXIN_MAX_POLYGON_VERTICES", default=10_000),
    # District share of a subsidised service's price, until per-elder entitlements exist.
    "SUBSIDY_SHARE": env.float("ANXIN_SUBSIDY_SHARE", default=0.5),
    # One care-plan run makes at most this many requests (soonest first), in at most this long;
    # the next run, 15 minutes on, makes the rest (dispatch/care_plans.py).
    "CARE_PLAN_MAX_PER_RUN": env.int("ANXIN_CARE_PLAN_MAX_PER_RUN", default=2000),
    "CARE_PLAN_RUN_S": env.float("ANXIN_CARE_PLAN_RUN_S", default=60),
    "MISSING_CHECK_OUT_GRACE_M": env.int("ANXIN_MISSING_CHECK_OUT_GRACE_M", default=30),
    # Notifications (backend/telephony, docs/telephony.md). Quiet hours hold routine SMS and calls
    # back ("HH:MM-HH:MM" in DISPLAY_TIME_ZONE, "" for none); emergencies never wait, and go
    # again after a failure up to this many attempts. SMS_REPLIES: whether inbound SMS are read
    # (Twilio in mainland China has no two-way SMS).
    "QUIET_HOURS": env.str("ANXIN_QUIET_HOURS", default="22:00-07:00"),
    "NOTIFY_EMERGENCY_ATTEMPTS": env.int("ANXIN_NOTIFY_EMERGENCY_ATTEMPTS", default=5),
    "SMS_REPLIES": env.bool("ANXIN_SMS_REPLIES", default=False),
    # Matching looks at this many nearest eligible workers, then ranks them (dispatch/ranking.py)
    "CANDIDATE_POOL": env.int("ANXIN_CANDIDATE_POOL", default=10),
    # Coverage of the 15-minute circle (district/coverage.py, docs/district.md): how fast a
    # worker goes from a provider's base (5 km/h: walking) for how long, and the map's grid
    # cells in metres (a request may ask for larger ones, never smaller than the minimum, so
    # that a cell never points at one home).
    "COVERAGE_SPEED_KMH": env.float("ANXIN_COVERAGE_SPEED_KMH", default=5.0),
    "COVERAGE_MINUTES": env.int("ANXIN_COVERAGE_MINUTES", default=15),
    "COVERAGE_CELL_M": env.int("ANXIN_COVERAGE_CELL_M", default=500),
    "COVERAGE_MIN_CELL_M": env.int("ANXIN_COVERAGE_MIN_CELL_M", default=200),
    # The hotline (hotline/, docs/telephony.md "Hotline"): the menu's language (zh-hans or en),
    # how long a caller waits for an operator before being offered voicemail (emergencies wait
    # on), how long the menu waits for a key, the operator's phone rings and a message may last,
    # the pause between hold messages, and the bound on each webhook's database work (Twilio
    # gives up on a webhook after 15 s).
    "IVR_LANGUAGE": env.str("ANXIN_IVR_LANGUAGE", default="zh-hans"),
    "HOTLINE_QUEUE_WAIT_S": env.int("ANXIN_HOTLINE_QUEUE_WAIT_S", default=120),
    "HOTLINE_MENU_TIMEOUT_S": env.int("ANXIN_HOTLINE_MENU_TIMEOUT_S", default=8),
    "HOTLINE_DIAL_TIMEOUT_S": env.int("ANXIN_HOTLINE_DIAL_TIMEOUT_S", default=20),
    "HOTLINE_MESSAGE_MAX_S": env.int("ANXIN_HOTLINE_MESSAGE_MAX_S", default=120),
    "HOTLINE_HOLD_PAUSE_S": env.int("ANXIN_HOTLINE_HOLD_PAUSE_S", default=15),
    "HOTLINE_DB_TIMEOUT_MS": env.int("ANXIN_HOTLINE_DB_TIMEOUT_MS", default=2000),
    # How long the operator has to press 1 after hearing what the call is (call screening).
    "HOTLINE_SCREEN_TIMEOUT_S": env.int("ANXIN_HOTLINE_SCREEN_TIMEOUT_S", default=10),
    # An operator's call-back of an alarm (hotline/alarm_call_back.py): how long the elder's
    # phone rings (an elder may take a while to reach it).
    "ALARM_CALL_BACK_RING_S": env.int("ANXIN_ALARM_CALL_BACK_RING_S", default=30),
    # District oversight (docs/district.md, "Provider quality"): a provider whose monthly
    # quality score (0 to 100) is below this is listed for the district's attention.
    "QUALITY_THRESHOLD": env.int("ANXIN_QUALITY_THRESHOLD", default=60),
    "RANK_WEIGHTS": {
        "distance": env.float("ANXIN_RANK_W_DISTANCE", default=1.0),
        "continuity": env.float("ANXIN_RANK_W_CONTINUITY", default=0.3),
        "rating": env.float("ANXIN_RANK_W_RATING", default=0.1),
        "fairness": env.float("ANXIN_RANK_W_FAIRNESS", default=0.1),
    },
    # A call the provider took with no final status this long after (the callback was lost)
    # counts as not answered, and its flow (an emergency call-out's next number) moves on.
    "CALL_FINAL_STATUS_WITHIN_S": env.int("ANXIN_CALL_FINAL_STATUS_WITHIN_S", default=180),
    # Visit confirmation at check-in (dispatch/visit_confirmation.py): "off", "call" or "sms"
    # ("sms" needs SMS_REPLIES); no answer within this long is recorded as no answer.
    "VISIT_CONFIRMATION": env.str("ANXIN_VISIT_CONFIRMATION", default="off"),
    "VISIT_CONFIRMATION_WAIT_M": env.int("ANXIN_VISIT_CONFIRMATION_WAIT_M", default=15),
    # An offer the worker's app has not opened this long after it was made (or by half its
    # time, if sooner) also goes by SMS with a short code (dispatch/offer_sms.py).
    "OFFER_SMS_AFTER_S": env.int("ANXIN_OFFER_SMS_AFTER_S", default=60),
    # Alarms (docs/alarms.md, "Verify, then dispatch"): an alarm nobody acknowledged this long
    # after it was received is re-sent to every operator and the district's supervisors, and
    # again at this interval until someone does.
    "ALARM_ACK_WITHIN_S": env.int("ANXIN_ALARM_ACK_WITHIN_S", default=30),
    # ... and nobody acknowledged it this long after it was received, by kind: the platform
    # dispatches an emergency request itself (for smoke and gas too: the operator calls 119).
    "ALARM_DISPATCH_AFTER_S": {
        "sos": env.int("ANXIN_ALARM_DISPATCH_AFTER_S_SOS", default=60),
        "fall": env.int("ANXIN_ALARM_DISPATCH_AFTER_S_FALL", default=60),
        "no_movement": env.int("ANXIN_ALARM_DISPATCH_AFTER_S_NO_MOVEMENT", default=120),
        "smoke": env.int("ANXIN_ALARM_DISPATCH_AFTER_S_SMOKE", default=60),
        "gas": env.int("ANXIN_ALARM_DISPATCH_AFTER_S_GAS", default=60),
    },
    # Devices (docs/alarms.md, "Heartbeats"): a device is offline when nothing has been
    # received from it (server time) for this many heartbeat intervals plus the slack (its
    # retries, a gateway's reconnect, the device sweep's period).
    "DEVICE_OFFLINE_AFTER_BEATS": env.int("ANXIN_DEVICE_OFFLINE_AFTER_BEATS", default=2),
    "DEVICE_OFFLINE_SLACK_S": env.int("ANXIN_DEVICE_OFFLINE_SLACK_S", default=120),
    # A battery below LOW opens a maintenance task (so does a low_battery message); it clears
    # by itself at OK or above: the gap keeps a level hovering at the line from flapping.
    "DEVICE_BATTERY_LOW_PCT": env.int("ANXIN_DEVICE_BATTERY_LOW_PCT", default=20),
    "DEVICE_BATTERY_OK_PCT": env.int("ANXIN_DEVICE_BATTERY_OK_PCT", default=30),
    # Heartbeats and battery reports (not linked to an alarm) older than this are purged.
    "DEVICE_MESSAGE_KEEP_DAYS": env.int("ANXIN_DEVICE_MESSAGE_KEEP_DAYS", default=30),
}

# Structured log lines from services (structlog), rendered as key=value through stdlib logging.
# Never log an ID number, a health note or a position: pass ids of rows instead.
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.processors.format_exc_info,
        structlog.processors.KeyValueRenderer(key_order=["event"]),
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)

# Every handler redacts phone numbers and ID numbers, whoever logs them (backend/core/logging.py).
# ANXIN_LOG_DIR adds a file per process (the test run's log audit reads them).
LOG_HANDLERS: dict[str, dict] = {
    "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
}
if env.str("ANXIN_LOG_DIR", default=""):
    LOG_HANDLERS["file"] = {
        "()": "backend.core.logging.ProcessFileHandler",
        "directory": env.str("ANXIN_LOG_DIR"),
        "formatter": "plain",
        "filters": ["redact"],
    }
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "backend.core.logging.RedactPersonalData"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": LOG_HANDLERS,
    "root": {"handlers": list(LOG_HANDLERS), "level": env.str("ANXIN_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Debian 12 ships GDAL 3.6, which cannot block file and network access from crafted spatial
# references. The API accepts geometry only as GeoJSON parsed by our own serializers, never
# a spatial reference string from outside, so the warning does not apply to any input path.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
