"""Settings: one file, driven by environment variables with embedded defaults.

The embedded default (no variables set) is SQLite, the in-memory channel layer, a local
evidence folder and console e-mail. Production sets DATABASE_URL, REDIS_URL, MINIO_* etc.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import (
    embedded_secret_key,
    env_bool,
    env_int,
    env_list,
    env_secret,
    env_str,
    is_weak_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not env_str("DATABASE_URL"):
        # The embedded default (`make run`): one key per installation, made on its first run
        # and kept with its database, so that sign-ins survive a restart.
        SECRET_KEY = embedded_secret_key(VAR_DIR / "secret_key")
    elif not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    else:
        SECRET_KEY = "development-only-insecure-key-never-used-in-production"
if not DEBUG and (is_weak_secret(SECRET_KEY) or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "SECRET_KEY is the example from .env.example or another weak value (or shorter than "
        "32 characters): generate one, e.g. `python -c 'import secrets; "
        "print(secrets.token_urlsafe(50))'`."
    )

# The audit trail's HMAC key (workflow.audit), kept outside the database: from AUDIT_KEY or
# AUDIT_KEY_FILE, else made on the first run into VAR_DIR (every process of the installation
# must then share that folder). Rotating: set the new key and move the old one to
# AUDIT_RETIRED_KEYS (space or comma separated), so older entries still verify.
AUDIT_KEY = env_secret("AUDIT_KEY")
if not DEBUG and AUDIT_KEY and (is_weak_secret(AUDIT_KEY) or AUDIT_KEY.startswith("change-me")):
    raise ImproperlyConfigured(
        "AUDIT_KEY is an example or too short: generate one with `openssl rand -base64 48`."
    )
AUDIT_KEY = AUDIT_KEY or embedded_secret_key(VAR_DIR / "audit.key")
AUDIT_RETIRED_KEYS = env_secret("AUDIT_RETIRED_KEYS").replace(",", " ").split()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "guardian",
    "django_fsm",
    "channels",
    "cases",
    "workflow",
    "deadlines",
    "notifications",
    "evidence",
    "results",
    "web",
    "ops",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    # Probes answer before host validation and the HTTPS redirect (they come from inside).
    "ops.middleware.HealthCheckMiddleware",
    # A request id, user id and case id on every log line; one JSON line per request.
    "ops.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the web process itself (no other server in front is needed).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Everything after the static files is private unless its view says otherwise.
    "ops.middleware.PrivateByDefaultMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "web.middleware.PageLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): signed in with a second factor (django-otp); then a session
    # that lacks the second factor its user needs is ended (config/auth_two_factor.py).
    "django_otp.middleware.OTPMiddleware",
    "config.auth_two_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lock-out response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
# A stale form's refusal in the user's language, on the product's page (ops/errors.py).
CSRF_FAILURE_VIEW = "ops.errors.csrf_failure"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
# Under ASGI, persistent connections pile up per thread (Django's docs say to disable them);
# production uses psycopg's pool instead, DB_POOL_MAX_SIZE connections per process, each
# checked on checkout so a restarted PostgreSQL costs no request an error.
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 0)
if DB_POOL_MAX_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # the pool checks on checkout
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env_int("DB_POOL_TIMEOUT", 10),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DB_SERVER_SIDE_BINDING", True
):
    # Parameters sent apart from the query: a statement run often on a connection is then
    # prepared (psycopg's prepare_threshold), and PostgreSQL stops planning it again each time.
    # Planning the queries that lock a case or fan out a notification cost the database more
    # than running them (bench/transitions.py, bench/deadline_day.py).
    # (Django turns preparing off for poolers in front of PostgreSQL; this stack has none:
    # the pool is psycopg's own, in the process. Turn this off if you add one.)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=5
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with timestamps parsed by psycopg's C loader (config/postgresql).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Several requests and the in-process sweep share one file. Write-ahead logging lets
    # pages read while a unit saves. A transaction takes the write lock when it begins
    # (IMMEDIATE): with SQLite's default (DEFERRED), two transactions that read and then write
    # deadlock on the upgrade and one fails at once, without waiting the busy timeout. With
    # it, writers queue for up to `timeout` seconds, which also serialises the audit chain's
    # appends (PostgreSQL takes an advisory lock for that; see workflow/audit.py).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=env_int("SQLITE_BUSY_TIMEOUT", 20),
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
# Requests that may write to SQLite at the same time; the others queue in arrival order
# (config/turns.py).
SQLITE_WRITERS = env_int("SQLITE_WRITERS", 1)
# Requests each server process answers at once; the others wait in arrival order once their
# body has arrived (config/turns.py). More threads than this only took turns at the
# interpreter lock with the loop that reads the bodies: on deadline day four served about a
# tenth more requests than eight (docs/deploy.md, "Sizing for deadline day").
HTTP_TURNS = env_int("HTTP_TURNS", 4)
if HTTP_TURNS < 1 or SQLITE_WRITERS < 1:
    raise ImproperlyConfigured("HTTP_TURNS and SQLITE_WRITERS must be at least 1.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username+address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    # Then: makes an account guessed at from many addresses wait (config/auth_guard.py).
    "config.auth_guard.SignInGuardBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
# dd/mm/yyyy and the decimal comma (config/formats). Thousands are grouped only where a
# template asks for it (|num): a global separator would also rewrite ids in URLs and forms.
FORMAT_MODULE_PATH = ["config.formats"]
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# `collectstatic` (run by `make run` and the web container before they serve) gives every
# file a name with its content's hash and a compressed copy; WhiteNoise serves those names
# with a year of caching, since a changed file gets a new name. While developing (DEBUG) and
# in the tests, which run no collectstatic, files keep their plain names.
STATIC_HASHED = env_bool("STATIC_HASHED", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_HASHED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}


def redis_channel_layers(url: str) -> dict[str, Any]:
    """The Redis channel layer of production (and of the tests that use Redis).

    Pub/Sub: a message reaches a process holding hundreds of open pages in O(1), where the
    list-based RedisChannelLayer makes every page's receive contend for one blocking pop, so
    its latency grew with the open pages until a push to a few hundred never finished (what
    bench/push.py times). Its subscriptions are restored by redis-py when Redis comes back.
    Timeouts: a bounded connect so that an outage fails fast (the push is retried by the worker).
    """
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": url, "socket_connect_timeout": 3, "socket_timeout": 15}]
            },
        }
    }


REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = redis_channel_layers(REDIS_URL)
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Chỉ số CCHC <no-reply@localhost>")

# Notifications: links in e-mails, the immediate attempt after commit, retries with backoff.
# Without SITE_URL the links name this machine on the port the server listens on (`make`
# exports PORT to the web server and the notifier alike).
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}").rstrip("/")
NOTIFY_PUSH_TIMEOUT = env_int("NOTIFY_PUSH_TIMEOUT", 3)
NOTIFY_EMAIL_TIMEOUT = env_int("NOTIFY_EMAIL_TIMEOUT", 5)
NOTIFY_EMAIL_INLINE_MAX = env_int("NOTIFY_EMAIL_INLINE_MAX", 20)
NOTIFY_RETRY_BASE_SECONDS = env_int("NOTIFY_RETRY_BASE_SECONDS", 30)
NOTIFY_RETRY_MAX_SECONDS = env_int("NOTIFY_RETRY_MAX_SECONDS", 3600)

# Evidence storage: MinIO/S3 when MINIO_ENDPOINT is set, a local folder otherwise.
MINIO_ENDPOINT = env_str("MINIO_ENDPOINT", "")
MINIO_ACCESS_KEY = env_secret("MINIO_ACCESS_KEY", "")
MINIO_SECRET_KEY = env_secret("MINIO_SECRET_KEY", "")
MINIO_BUCKET = env_str("MINIO_BUCKET", "evidence")
MINIO_SECURE = env_bool("MINIO_SECURE", False)
EVIDENCE_LOCAL_DIR = Path(env_str("EVIDENCE_LOCAL_DIR", str(VAR_DIR / "evidence")))
MINIO_REGION = env_str("MINIO_REGION", "us-east-1")
# The host users' browsers reach for download links (a proxy in front of MinIO); empty: the
# endpoint above.
MINIO_PUBLIC_ENDPOINT = env_str("MINIO_PUBLIC_ENDPOINT", "")
MINIO_PUBLIC_SECURE = env_bool("MINIO_PUBLIC_SECURE", MINIO_SECURE)
# When the store is down a user waits seconds, not minutes.
MINIO_CONNECT_TIMEOUT = env_int("MINIO_CONNECT_TIMEOUT", 3)
MINIO_READ_TIMEOUT = env_int("MINIO_READ_TIMEOUT", 20)
MINIO_RETRIES = env_int("MINIO_RETRIES", 2)
if MINIO_ENDPOINT and not DEBUG and is_weak_secret(MINIO_SECRET_KEY):
    raise ImproperlyConfigured(
        "MINIO_SECRET_KEY is a default or example password (or shorter than 12 characters): "
        "generate one, e.g. `openssl rand -base64 30`, for MinIO and the application."
    )
EVIDENCE_MAX_UPLOAD_MB = env_int("EVIDENCE_MAX_UPLOAD_MB", 50)
# Seconds a shared cache (the proxy, a browser) may keep published results served to the
# public; everything else is sent with Cache-Control: no-store.
PUBLIC_RESULTS_MAX_AGE = env_int("PUBLIC_RESULTS_MAX_AGE", 300)
# Request bodies, checked before they are read (config/bodies.py): the largest body an
# address without uploads accepts; the largest an anonymous client may send; how long a
# client may pause while sending one, and take for all of it.
REQUEST_BODY_MAX_MB = env_int("REQUEST_BODY_MAX_MB", 3)
ANONYMOUS_BODY_MAX_KB = env_int("ANONYMOUS_BODY_MAX_KB", 64)
REQUEST_BODY_IDLE_SECONDS = env_int("REQUEST_BODY_IDLE_SECONDS", 30)
REQUEST_BODY_MAX_SECONDS = env_int("REQUEST_BODY_MAX_SECONDS", 600)
# Types judged from the bytes (codes of evidence.sniff.KINDS).
EVIDENCE_ALLOWED_TYPES = env_list(
    "EVIDENCE_ALLOWED_TYPES",
    ["pdf", "doc", "docx", "xls", "xlsx", "odt", "ods", "jpeg", "png"],
)
# Governance-mode retention given to a case's objects when it is submitted (S3 with lock).
EVIDENCE_RETENTION_DAYS = env_int("EVIDENCE_RETENTION_DAYS", 3650)
EVIDENCE_DOWNLOAD_URL_SECONDS = env_int("EVIDENCE_DOWNLOAD_URL_SECONDS", 60)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.auth.ExpiringTokenAuthentication",
        "config.auth.IntegrationTokenAuthentication",
        "config.auth.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    # The browsable API (HTML forms for every endpoint) only with DEBUG on.
    "DEFAULT_RENDERER_CLASSES": [
        "config.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    # JSON that no column can hold (1e309, NaN, 400 digits, deep nesting) is a 400 here.
    "DEFAULT_PARSER_CLASSES": [
        "cases.inputs.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "cases.inputs.MultiPartFormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PAR Index case tracker API",
    "DESCRIPTION": "Chỉ số cải cách hành chính: hồ sơ tự đánh giá, thẩm định, công bố.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ExtensionKindEnum": "deadlines.models.Extension.Kind",
        "CalendarDayKindEnum": "deadlines.models.CalendarOverride.Kind",
    },
}

# The deadline sweep: its own worker in production (`sweep_deadlines --loop`); in the embedded
# default (SQLite) a thread of the web process, as no worker runs there.
SWEEP_IN_PROCESS = env_bool(
    "SWEEP_IN_PROCESS", DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
)
SWEEP_INTERVAL = env_int("SWEEP_INTERVAL", 60)
# Cases per transaction when a transition runs on many (the sweep at a cutoff,
# `workflow.services.run_transitions`): each batch has its fixed statements and its commit.
# One batch at a time, 200 took a thousand cases due at once (bench/sweep.py) about a tenth
# faster than 100, and 500 a few hundredths faster again; 1,000 was slower. Two at a time
# (BATCHES_ALONGSIDE), 250 was a little faster than 500 (1,014 cases: 1,039–1,121 against
# 1,107–1,180 ms, runs alternated): four batches overlap where two did. A person's
# transition on a case of a batch waits for it, about a quarter of a second.
TRANSITION_BATCH = env_int("TRANSITION_BATCH", 250)
# On PostgreSQL, the sweep's batches (of transitions, of reminders) two at a time, on two
# connections, so that one is built while the database writes the other (`cases.batches`):
# the first sweep of bench/sweep.py took 1,146–1,526 ms against 1,282–1,788 ms one at a
# time, less in each of three pairs of runs alternated.
BATCHES_ALONGSIDE = env_bool("BATCHES_ALONGSIDE", True)

# The named actor of automatic transitions, so that the audit trail never has a blank actor.
SYSTEM_USERNAME = "system"
DEMO_PASSWORD = env_secret("DEMO_PASSWORD", "demo12345")

# HTTPS behind the data centre's TLS proxy (which sets X-Forwarded-Proto). Off with DEBUG,
# so that `make run` serves plain http on loopback.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# The header only; listing the domain in browsers' preload list is a separate, manual step.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)  # a working day
SESSION_ENGINE = "config.sessions"  # Django's database sessions, read by a compiled query
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4): scripts and styles from this site only, no inline
# code; live notifications use a same-origin WebSocket ('self' covers ws/wss in CSP 3).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Sign-in throttling (django-axes), for the login page and the API token alike: after
# AXES_FAILURE_LIMIT failures for one username from one address, that pair is locked out
# for AXES_COOLOFF_MINUTES. The secretariat unlocks early with `manage.py axes_reset_username`.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "ops.lockout.lockout_response"
AXES_VERBOSE = False
AXES_WHITELIST_CALLABLE = "config.auth_guard.refused_by_guard"
# Beside it, per account from every address (config/auth_guard.py): after
# SIGNIN_ACCOUNT_FREE_FAILURES failures within a day the account answers only after a delay
# from its last failure, SIGNIN_DELAY_BASE_SECONDS doubling with each further failure, never
# more than SIGNIN_DELAY_MAX_SECONDS (a delay, not a lock: a real user waits minutes at
# most, and not at all in a browser they signed in on within SIGNIN_DEVICE_DAYS). Spraying:
# failures on SIGNIN_SPRAY_ACCOUNTS accounts from one address, or SIGNIN_SPRAY_ACCOUNTS_TOTAL
# from anywhere, within SIGNIN_SPRAY_WINDOW_MINUTES are audited and shown to the secretariat,
# who are notified once per wave (after two quiet windows, a new wave).
SIGNIN_ACCOUNT_FREE_FAILURES = env_int("SIGNIN_ACCOUNT_FREE_FAILURES", 5)
SIGNIN_DELAY_BASE_SECONDS = env_int("SIGNIN_DELAY_BASE_SECONDS", 15)
SIGNIN_DELAY_MAX_SECONDS = env_int("SIGNIN_DELAY_MAX_SECONDS", 300)
SIGNIN_DEVICE_DAYS = env_int("SIGNIN_DEVICE_DAYS", 180)
SIGNIN_SPRAY_ACCOUNTS = env_int("SIGNIN_SPRAY_ACCOUNTS", 10)
SIGNIN_SPRAY_ACCOUNTS_TOTAL = env_int("SIGNIN_SPRAY_ACCOUNTS_TOTAL", 30)
SIGNIN_SPRAY_WINDOW_MINUTES = env_int("SIGNIN_SPRAY_WINDOW_MINUTES", 15)
# /readyz names its components and their errors only to a request carrying this token
# (`Authorization: Bearer …`); everyone else gets the status alone. Empty: nobody.
OPS_TOKEN = env_secret("OPS_TOKEN", "")
# API tokens stop working this many days after they were issued; DELETE
# /api/v1/auth/token/ revokes one at once.
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 30)
# Integrations use tokens their user makes in the pages ("Account security"), sent as
# `Authorization: Bearer par_…`; each stops working this many days after it was made.
INTEGRATION_TOKEN_DAYS = env_int("INTEGRATION_TOKEN_DAYS", 365)
# Two-factor sign-in (config/auth_two_factor.py, django-otp): required of the secretariat,
# the leader, the auditor and superusers when on (the production example turns it on; the
# embedded demo leaves it off, so its accounts sign in with the documented password);
# offered to everyone. Where someone needs it, an API token is issued only with a code.
TWO_FACTOR_REQUIRED = env_bool("TWO_FACTOR_REQUIRED", False)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Chỉ số CCHC")
# The live push (notifications.sockets): a ticket opens one socket within this many seconds;
# an open socket checks every so often that its session or token still signs its user in.
WEBSOCKET_TICKET_SECONDS = env_int("WEBSOCKET_TICKET_SECONDS", 30)
# Tickets one user may ask for in a minute (every open page asks once, and again after each
# reconnection); beyond it the API answers 429 with the seconds to wait. 0: no limit.
WEBSOCKET_TICKETS_PER_MINUTE = env_int("WEBSOCKET_TICKETS_PER_MINUTE", 30)
WEBSOCKET_RECHECK_SECONDS = env_int("WEBSOCKET_RECHECK_SECONDS", 60)

# JSON lines (ops.logs) for the data centre's log collector; plain text with DEBUG on.
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "ops.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
