"""Settings shared by every environment.

Everything that differs between machines is read from the environment (or a ``.env`` file in the
project folder) through django-environ. ``FileAwareEnv`` also accepts ``<NAME>_FILE`` pointing at
a file that holds the value, for container secrets. Every variable is listed in ``.env.example``
and README.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.FileAwareEnv()
if (BASE_DIR / ".env").is_file():
    environ.FileAwareEnv.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# No default here: base.py is only used directly by tools that set it (manage.py defaults to
# the local settings, which provide a development-only key).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI for /api/docs/ from our own static files.
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    # Login throttling (see "Login throttling" below); its tables come with migrate.
    "axes",
    "integrations",
    "interviews",
    "governance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A database outage (restart, failover) answers 503 + Retry-After instead of a 500.
    "integrations.middleware.DatabaseUnavailableMiddleware",
    # Last: turns a locked-out sign-in into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "governance.context_processors.roles",
            ],
        },
    }
]

# --- Database ---------------------------------------------------------------------------------
# SQLite in the project folder unless DATABASE_URL says otherwise (PostgreSQL in production/CI).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Axes first: it refuses a locked-out sign-in before any backend checks the password
# (axes' AxesStandaloneBackend, letting request-less server-side calls through).
AUTHENTICATION_BACKENDS = [
    "governance.lockout.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Login throttling (django-axes) -----------------------------------------------------------
# 5 failures for one username from one address lock that pair out for 15 minutes (at most
# 20 tries an hour, well under ASVS V2.2.1's 100); by the pair, so nobody can lock a victim out
# from elsewhere. Every attempt during a lockout restarts the cool-off. A success resets the count.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "governance.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "governance.lockout.client_ip"
# Successful sign-ins are not logged with address and browser (no retention rule covers them);
# failed attempts are kept only while they count towards a lockout.
AXES_DISABLE_ACCESS_LOG = True
# No admin pages for axes' tables; unlock early with `manage.py axes_reset_username <name>`.
AXES_ENABLE_ADMIN = False
# How many reverse proxies append to X-Forwarded-For in front of the app (0: use REMOTE_ADDR).
SCREENBRIDGE_TRUSTED_PROXY_COUNT = env.int("SCREENBRIDGE_TRUSTED_PROXY_COUNT", default=0)

# --- I18N -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Sessions end with the browser, and at the latest SESSION_COOKIE_AGE after sign-in.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# htmx sends the token from the page (<body hx-headers=...>), so no script needs the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Django 6 built-in Content-Security-Policy: our own static files only, no inline scripts.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# Key for credentials stored encrypted in the database (AtsConnection). Any string; it is
# stretched to a Fernet key. Changing it makes stored credentials unreadable.
FIELD_ENCRYPTION_KEY = env.str("SCREENBRIDGE_FIELD_ENCRYPTION_KEY", default="")

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every error body is JSON, including the ones Django itself would render as HTML.
    "EXCEPTION_HANDLER": "governance.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Screenbridge API",
    "DESCRIPTION": (
        "Applications, interviews, results, the review queue, decisions and writebacks. "
        "Authenticate with `Authorization: Token <key>` (`manage.py create_api_token <user>`) "
        "or the browser session (+ CSRF header on writes). Lists are cursor-paginated."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/schema/ is for signed-in users only (see config/api_urls.py).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "DecisionOutcomeEnum": "governance.models.DecisionOutcome",
        "OverrideReasonEnum": "governance.models.OverrideReason",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Requests per user to /api/ (DRF rate syntax: N/second|minute|hour|day); empty turns it off.
SCREENBRIDGE_API_THROTTLE_RATE = env.str("SCREENBRIDGE_API_THROTTLE_RATE", default="600/minute")

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# Our tasks are idempotent, so a task lost with its worker is redelivered rather than dropped.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers a task not acknowledged within this many seconds (worker lost for good).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # A worker consuming several queues (-Q launch,results,writeback,celery) always takes the
    # next message from the first non-empty queue in that order, so a burst of results and
    # writebacks never delays an invitation (Redis; kombu's default is round robin).
    "queue_order_strategy": "priority",
}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Without this, Celery's Django fixup closes every database connection before and after every
# task. Set, it closes them only every this many tasks, and config/celery.py applies Django's
# own rule (CONN_MAX_AGE, broken connections) around each task instead.
CELERY_DB_REUSE_MAX = 1000
# Enqueueing happens in request paths (webhooks): fail fast when the broker is down — stored
# rows are picked up by the periodic sweeper/relay instead of blocking the sender.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Eager mode is for the demo and tests only (see README); production runs real workers.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = CELERY_TASK_ALWAYS_EAGER
# Optional separate queues (docs/operations.md, "Queues and priorities"): each set variable
# routes its tasks to a queue of that name. Unset: everything goes to CELERY_TASK_DEFAULT_QUEUE.
# - launch: stage changes and invitations, what a candidate is waiting for;
# - results: vendor events (results arriving, interviews ending);
# - writeback: the relay that sends results to the ATS.
CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {}
for _queue_env, _task_names in (
    ("SCREENBRIDGE_LAUNCH_QUEUE", ("integrations.process_inbound_event", "interviews.invite")),
    ("SCREENBRIDGE_RESULTS_QUEUE", ("interviews.process_vendor_event",)),
    ("SCREENBRIDGE_WRITEBACK_QUEUE", ("integrations.relay_writebacks",)),
):
    if _queue := env.str(_queue_env, default=""):
        CELERY_TASK_ROUTES.update({name: {"queue": _queue} for name in _task_names})
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # The outbox relay: sends due writebacks (a kick on commit makes most sends immediate).
    "relay-writebacks": {"task": "integrations.relay_writebacks", "schedule": 5.0},
    # Deliveries stored while the broker was down are processed once it is back.
    "sweep-inbound-events": {"task": "integrations.sweep_inbound_events", "schedule": 60.0},
    # Invitation expiry and reminders (interviews whose deadlines passed).
    "interviews-expire-and-remind": {"task": "interviews.expire_and_remind", "schedule": 300.0},
    # Invitations and vendor deliveries stored while the broker was down.
    "interviews-sweep": {"task": "interviews.sweep", "schedule": 60.0},
    # Retention purge, vendor deletion retries and data requests awaiting a vendor (daily).
    "governance-purge-expired": {"task": "governance.purge_expired", "schedule": 86400.0},
}

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # axes announces itself at INFO on every start (each manage.py command).
        "axes": {"level": "WARNING"},
    },
}

# --- Screenbridge -----------------------------------------------------------------------------
# Public base URL of this portal, used in links written back to the ATS.
SCREENBRIDGE_PUBLIC_URL = env.str("SCREENBRIDGE_PUBLIC_URL", default="http://127.0.0.1:8000")
# How many times a writeback is tried before it is marked dead (visible and retryable in admin).
SCREENBRIDGE_WRITEBACK_MAX_ATTEMPTS = env.int("SCREENBRIDGE_WRITEBACK_MAX_ATTEMPTS", default=8)
# Seconds a signed artifact link (/artifacts/<token>/: transcript, recording, report) stays valid.
SCREENBRIDGE_ARTIFACT_LINK_TTL = env.int("SCREENBRIDGE_ARTIFACT_LINK_TTL", default=300)
# Results: vendor confidence below this is flagged low_confidence; transcripts shorter than
# this many words (or missing) are flagged short_transcript. Both route the result to review.
SCREENBRIDGE_LOW_CONFIDENCE = env.float("SCREENBRIDGE_LOW_CONFIDENCE", default=0.6)
SCREENBRIDGE_MIN_TRANSCRIPT_WORDS = env.int("SCREENBRIDGE_MIN_TRANSCRIPT_WORDS", default=150)
# Adverse-impact report: an impact ratio below 0.80 raises the alert only for categories of at
# least this many assessed people (smaller ones are shown, with their p-values, but do not alert).
SCREENBRIDGE_ADVERSE_IMPACT_MIN_N = env.int("SCREENBRIDGE_ADVERSE_IMPACT_MIN_N", default=30)
# Automation-bias warning on the calibration page: a week where at least this share of human
# decisions followed the tool and the median review took under this many seconds.
SCREENBRIDGE_AUTOMATION_BIAS_AGREEMENT = env.float(
    "SCREENBRIDGE_AUTOMATION_BIAS_AGREEMENT", default=0.98
)
SCREENBRIDGE_AUTOMATION_BIAS_REVIEW_SECONDS = env.int(
    "SCREENBRIDGE_AUTOMATION_BIAS_REVIEW_SECONDS", default=60
)
# Governance: public holidays (ISO dates) that do not count as business days for the NYC notice
# period; everything else Monday–Friday does (governance.compliance, docs/governance.md).
SCREENBRIDGE_BUSINESS_HOLIDAYS = env.list("SCREENBRIDGE_BUSINESS_HOLIDAYS", default=[])
# Metrics: minutes a manual first screen takes (recruiter hours saved); a role family may
# override it (RoleFamily.manual_screen_minutes).
SCREENBRIDGE_MANUAL_SCREEN_MINUTES = env.int("SCREENBRIDGE_MANUAL_SCREEN_MINUTES", default=30)

# Go-live readiness: completed pilot interviews (real candidates) a plan needs before its
# "pilot metrics" checklist item passes (interviews.readiness.pilot_metrics_sufficient).
SCREENBRIDGE_GO_LIVE_MIN_PILOT = env.int("SCREENBRIDGE_GO_LIVE_MIN_PILOT", default=30)

# Redis broker: publish through one client per channel instead of one per message (see
# integrations/broker.py); other broker URLs keep kombu's transport for their scheme.
if CELERY_BROKER_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "integrations.broker:Transport"
