"""Settings, read top to bottom, all from the environment.

Without any variables set this is the embedded default that `make run` serves:
SQLite under var/, the in-memory channel layer, eager Celery, email on the console.
`PRODUCTION=1` switches on the hardening that `manage.py check --deploy` asks for.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from conferencing import api_settings
from conferencing.beat_schedule import periodic_tasks

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()

# --- Mode -------------------------------------------------------------------
PRODUCTION = env.bool("PRODUCTION", default=False)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

# Absolute base URL for links that leave the request cycle (emails, calendar files).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Confer")

# --- Applications -----------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "accounts",
    "meetings",
    "recordings",
    "billing",
    "privacy",
    "support",
    "contests",
    "feedback",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page shows times in the signed-in viewer's zone (common/timezones.py).
    "common.timezones.ViewerTimeZoneMiddleware",
    "privacy.consent.middleware.GlobalPrivacyControlMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Camera, microphone and screen share for this origin only, everything else off; and
    # no caching of what is shown to one person (common/response_headers.py).
    "common.response_headers.PermissionsPolicyMiddleware",
    "common.response_headers.PrivateResponsesMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "conferencing.urls"
WSGI_APPLICATION = "conferencing.wsgi.application"
ASGI_APPLICATION = "conferencing.asgi.application"

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
                "conferencing.context_processors.site",
                "privacy.policies.context.policy_changes",
                "privacy.consent.context.consent",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# Behind PgBouncer in transaction mode (docker-compose.yml): each transaction may run on
# another server connection, so nothing may rely on session state (cursors, SET).
DB_TRANSACTION_POOLING = env.bool("DB_TRANSACTION_POOLING", default=False)
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves web, websockets and tasks from one process: writers take
    # the lock up front (no read-then-write deadlocks) and readers don't wait on them (WAL).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # 0: a connection per request. Persistent connections are per thread, and under ASGI
    # each request's sync code runs in a thread of its own, so a max age leaks one idle
    # connection per finished request until the server's limit (bench/db_connections.py).
    # Pool with PgBouncer instead (docker-compose.yml).
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Behind a pooler in transaction mode a cursor cannot outlive its transaction's server
    # connection, so Django must not use server-side (named) cursors for .iterator().
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = DB_TRANSACTION_POOLING
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and Celery ----------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's default pool of 100 connections ran dry with a few hundred sockets.
            # redis-py 8 times sockets out after 5 s, as long as channels_redis's blocking
            # receive waits: without None every idle consumer would die after 5 s.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "max_connections": 1000, "socket_timeout": None}]
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Rate-limit counters must be shared by every web process once there is more than one.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis hands a task that a worker took but never acknowledged (acks_late) to another
# worker after this many seconds. It must exceed the longest run of any task and the
# longest retry countdown (a task waiting for its ETA is unacknowledged too), or a task
# still running or waiting would run twice: billing's last webhook retry waits 2 h 8 min.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3 * 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# The reverse proxies in front of the app (addresses or networks, comma-separated).
# One variable for every reader: uvicorn reads FORWARDED_ALLOW_IPS itself (with
# --proxy-headers it puts the client in REMOTE_ADDR), and meetings.ratelimit.client_address
# walks X-Forwarded-For past these hops for our limits and allauth's (AccountAdapter).
TRUSTED_PROXIES = env.list("FORWARDED_ALLOW_IPS", default=[])
# allauth's own count must stay 0: the adapter answers with client_address instead.
ALLAUTH_TRUSTED_PROXY_COUNT = 0

# --- Meeting room media ------------------------------------------------------
# STUN/TURN URLs for browsers (and the media server); TURN credentials are minted per
# participant from the shared secret coturn is started with (--use-auth-secret).
ICE_SERVER_URLS = env.list("ICE_SERVER_URLS", default=[])
TURN_SHARED_SECRET = env.str("TURN_SHARED_SECRET", default="")
TURN_CREDENTIAL_TTL_SECONDS = env.int("TURN_CREDENTIAL_TTL_SECONDS", default=6 * 3600)
# Embedded default: media rooms inside the web process. With Redis: media worker processes.
MEDIA_GATEWAY = env.str(
    "MEDIA_GATEWAY",
    default=(
        "meetings.room.gateways.workers.WorkerMediaGateway"
        if REDIS_URL
        else "meetings.room.gateways.local.LocalMediaGateway"
    ),
)

# Media workers: a room's lease lives this long unless its worker renews it (every third).
MEDIA_LEASE_TTL_SECONDS = env.int("MEDIA_LEASE_TTL_SECONDS", default=10)
MEDIA_CLAIM_TIMEOUT_SECONDS = env.float("MEDIA_CLAIM_TIMEOUT_SECONDS", default=5.0)
MEDIA_WORKERS_KEY_PREFIX = env.str("MEDIA_WORKERS_KEY_PREFIX", default="media")
# Janus (deploy/janus/), spoken to only by meetings.janus; no admin secret: not set up.
JANUS_URL = env.str("JANUS_URL", default="http://127.0.0.1:8088/janus")
JANUS_ADMIN_URL = env.str("JANUS_ADMIN_URL", default="http://127.0.0.1:7088/admin")
JANUS_ADMIN_SECRET = env.str("JANUS_ADMIN_SECRET", default="")
# Which media engine a sitting runs on (meetings.room.engine): "aiortc" (in process or in
# media workers, no extra service), "janus", or "auto": Janus for sittings whose plan cap
# or expected size exceeds the threshold. Recorded on the sitting when its media starts.
MEDIA_ENGINE = env.str("MEDIA_ENGINE", default="aiortc")
if MEDIA_ENGINE not in ("aiortc", "janus", "auto"):
    raise ImproperlyConfigured('MEDIA_ENGINE must be "aiortc", "janus" or "auto"')
MEDIA_ENGINE_JANUS_THRESHOLD = env.int("MEDIA_ENGINE_JANUS_THRESHOLD", default=25)

# --- Auth and accounts (django-allauth) -------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "meetings:dashboard"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupProfileForm"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key", "signup": "20/h/ip"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME

# --- Email ------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
if EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend":
    # filemail://<path>: everything after the scheme, relative to the project unless it
    # starts with a slash (filemail:///srv/mail); empty means var/mail.
    _mail_path = env.str("EMAIL_URL").split("://", 1)[1].split("?", 1)[0]
    EMAIL_FILE_PATH = str(BASE_DIR / _mail_path) if _mail_path else str(VAR_DIR / "mail")
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
# Seconds an SMTP connection may block; an attempt must end inside its outbox lease.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# How long a worker's claim on an outbox message lasts; after it, the sweep sends the
# message again (with the same Message-ID). Longer than any attempt may take.
EMAIL_OUTBOX_LEASE_SECONDS = env.int("EMAIL_OUTBOX_LEASE_SECONDS", default=300)
EMAIL_OUTBOX_SWEEP_SECONDS = env.float("EMAIL_OUTBOX_SWEEP_SECONDS", default=60.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <no-reply@example.com>")
# The email delivery provider's slug in the third-party registry: each message sent
# records a disclosure to it. Empty for console/file backends, where nothing leaves.
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="")
# CAN-SPAM wants a postal address in every commercial email.
COMPANY_POSTAL_ADDRESS = env.str(
    "COMPANY_POSTAL_ADDRESS", default="Confer Inc., 548 Market St, San Francisco, CA 94104, USA"
)

# Where privacy questions and California "Shine the Light" requests are sent.
PRIVACY_CONTACT_EMAIL = env.str("PRIVACY_CONTACT_EMAIL", default="privacy@example.com")

# Access-request ZIPs: where they are built, and how long their download link works.
PRIVACY_EXPORTS_ROOT = Path(
    env.str("PRIVACY_EXPORTS_ROOT", default=str(VAR_DIR / "privacy-exports"))
)
PRIVACY_EXPORT_LINK_DAYS = env.int("PRIVACY_EXPORT_LINK_DAYS", default=7)
# The zone whose date starts and reads every legal clock (privacy/deadlines.py): the law
# counts days as the Californians it protects do, whatever TIME_ZONE or the server says.
PRIVACY_LEGAL_TIME_ZONE = "America/Los_Angeles"
# Keys the hash that names people without an account in the disclosure ledger.
PRIVACY_SUBJECT_KEY = env.str("PRIVACY_SUBJECT_KEY", default=SECRET_KEY)

# --- Privacy: cookies, newsletter -------------------------------------------
# Scripts of other companies (analytics, marketing), loaded only after consent to their
# category: a JSON list of {"provider", "category", "src", "cookies": [{"name",
# "purpose", "lifetime"}]}. None by default: the product itself loads no such script.
THIRD_PARTY_SCRIPTS = env.json("THIRD_PARTY_SCRIPTS", default=[])
# Newsletter sending: this many messages per batch, one batch every so many seconds.
NEWSLETTER_BATCH_SIZE = env.int("NEWSLETTER_BATCH_SIZE", default=200)
NEWSLETTER_BATCH_INTERVAL_SECONDS = env.int("NEWSLETTER_BATCH_INTERVAL_SECONDS", default=60)

# --- REST API ---------------------------------------------------------------
# Per signed-in user and per anonymous client address; both answer 429 with Retry-After.
REST_FRAMEWORK = api_settings.rest_framework(
    user_rate=env("API_THROTTLE_USER", default="1200/hour"),
    anon_rate=env("API_THROTTLE_ANON", default="60/hour"),
)
SPECTACULAR_SETTINGS = api_settings.spectacular(site_name=SITE_NAME)
INSTALLED_APPS += ["drf_spectacular_sidecar"]  # its static files: Swagger UI for /api/docs/

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns at start-up without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# --- Recordings -------------------------------------------------------------
# A directory the media server (writes tracks) and the Celery workers (compose) share.
RECORDINGS_ROOT = Path(env.str("RECORDINGS_ROOT", default=str(VAR_DIR / "recordings")))
# Days a trashed recording can still be restored before its files and row are deleted.
RECORDINGS_TRASH_DAYS = env.int("RECORDINGS_TRASH_DAYS", default=7)
# Without a Celery worker (eager tasks), compose in a thread beside the server.
RECORDINGS_PROCESS_IN_THREAD = env.bool("RECORDINGS_PROCESS_IN_THREAD", default=True)
# A processing run holds its recording this long between progress updates.
RECORDINGS_PROCESSING_LEASE_SECONDS = env.int("RECORDINGS_PROCESSING_LEASE_SECONDS", default=120)

# --- Billing (Stripe) -------------------------------------------------------
# Without a secret key the billing pages say payments are not configured and offer no
# buttons. STRIPE_API_BASE points the client elsewhere (localstripe in the tests);
# empty means api.stripe.com. The API version is pinned: the mirror reads its shapes.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="").rstrip("/")
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default="2024-06-20")
# Days a past_due subscription keeps its plan before it is cancelled and the account is Free.
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=14)
# Invoices are tax records: kept this many years from their date, then deleted.
BILLING_RECORDS_YEARS = env.int("BILLING_RECORDS_YEARS", default=7)

# Meeting reminders (meetings/reminders.py): how often beat scans for due ones, and how
# long a batch handed to a worker is left to it before a scan hands it out again.
REMINDER_SCAN_SECONDS = env.float("REMINDER_SCAN_SECONDS", default=60.0)
REMINDER_DISPATCH_LEASE_SECONDS = env.int("REMINDER_DISPATCH_LEASE_SECONDS", default=300)

# Synced into django-celery-beat's tables when beat starts.
CELERY_BEAT_SCHEDULE = periodic_tasks(
    outbox_sweep_seconds=EMAIL_OUTBOX_SWEEP_SECONDS, reminder_scan_seconds=REMINDER_SCAN_SECONDS
)

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Flash messages live in the session, so they set no cookie of their own.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# Consented third-party scripts may load from their own origins, and from nowhere else.
_THIRD_PARTY_SCRIPT_ORIGINS = sorted(
    {"{0.scheme}://{0.netloc}".format(urlsplit(s["src"])) for s in THIRD_PARTY_SCRIPTS}
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", *_THIRD_PARTY_SCRIPT_ORIGINS],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'", "ws:", "wss:"] if not PRODUCTION else ["'self'", "wss:"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
