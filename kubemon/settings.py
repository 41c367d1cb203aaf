"""Settings for kube-monitoring, all read from environment variables.

Every setting has a safe default for the demo (SQLite, a local Prometheus, DEBUG off).
A secret NAME may also be given as NAME_FILE, the path of a file holding it, which is how
Kubernetes mounts secrets.
"""

import json
import os
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envsecret(name: str, default: str = "") -> str:
    """Return NAME, or the contents of the file that NAME_FILE points to."""
    if path := os.getenv(name + "_FILE"):
        p = Path(path)
        if not p.is_file():
            raise ImproperlyConfigured(f"{name}_FILE points to {path}, which is not a file")
        return p.read_text().strip()
    return os.getenv(name, default)


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default)
    if value not in ("", "True", "False", "true", "false", "0", "1"):
        raise ImproperlyConfigured(f"{name} must be True or False, not {value!r}")
    return value in ("True", "true", "1")


def envint(name: str, default: int) -> int:
    value = os.getenv(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def envfloat(name: str, default: float) -> float:
    value = os.getenv(name, str(default))
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def envdecimal(name: str, default: str) -> Decimal:
    value = os.getenv(name, default)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if not number.is_finite():
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}")
    return number


def envmode(name: str, default: str) -> int:
    """Parse a file mode written in octal, e.g. 0640."""
    value = os.getenv(name, default)
    try:
        mode = int(value, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777:
        raise ImproperlyConfigured(f"{name} must be a file mode in octal (0640), not {value!r}")
    return mode


def envlist(name: str) -> list[str]:
    """Parse a comma-separated list; blanks around and between items are dropped."""
    return [item.strip() for item in os.getenv(name, "").split(",") if item.strip()]


def envheaders(name: str) -> dict[str, str]:
    """Parse a JSON object of extra HTTP headers, e.g. {"X-Scope-OrgID": "epfl"}."""
    raw = envsecret(name, "{}") or "{}"
    try:
        headers = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ImproperlyConfigured(f"{name} must be a JSON object: {e}") from None
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ImproperlyConfigured(f"{name} must be a JSON object of string values")
    return headers


DEBUG = envbool("DJANGO_DEBUG", "False")
# The demo key is only good for a machine nobody else reaches: with DEBUG off, the app refuses
# to serve (kubemon/wsgi.py) and `check --deploy` fails (web/checks.py) until
# DJANGO_SECRET_KEY is set. An empty DJANGO_SECRET_KEY counts as not set.
DEMO_SECRET_KEY = "demo-only-insecure-key-set-DJANGO_SECRET_KEY"
SECRET_KEY = envsecret("DJANGO_SECRET_KEY") or DEMO_SECRET_KEY
ALLOWED_HOSTS = [
    h for h in os.getenv("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
# Prometheus scrapes /metrics at the pod's address, which is the Host it sends: the web
# Deployment passes the pod's IP from the downward API (deploy/base/web-deployment.yaml).
if pod_ip := os.getenv("KUBEMON_POD_IP"):
    ALLOWED_HOSTS.append(pod_ip)

# HTTPS, for production behind a TLS-terminating proxy (docs/production.env.example). The
# defaults suit the demo over plain HTTP; `check --deploy` is clean with the example's values.
SESSION_COOKIE_SECURE = envbool("DJANGO_SESSION_COOKIE_SECURE", "False")
CSRF_COOKIE_SECURE = envbool("DJANGO_CSRF_COOKIE_SECURE", "False")
SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", "False")
# Kubernetes probes and Prometheus scrape over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = envint("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", "False")
SECURE_HSTS_PRELOAD = envbool("DJANGO_SECURE_HSTS_PRELOAD", "False")
# The header by which the proxy says the client spoke HTTPS, e.g. X-Forwarded-Proto; only set
# it when the proxy always sets (or strips) that header, or clients could claim HTTPS.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + header.upper().replace("-", "_"), "https")
    if (header := os.getenv("DJANGO_SECURE_PROXY_SSL_HEADER", ""))
    else None
)
CSRF_TRUSTED_ORIGINS = [
    o for o in os.getenv("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
# Error pages (DEBUG) and mails never show a password, even in a URL (web/error_reports.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "web.error_reports.CredentialsFilter"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_crontab",
    # Locks out repeated failed sign-ins (AXES_* below).
    "axes",
    "promadapter",
    "billing",
    "web",
]

MIDDLEWARE = [
    # First, so that every log line of the request carries its id (web/request_id.py).
    "web.request_id.RequestId",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header (django-csp), CONTENT_SECURITY_POLICY below.
    "csp.middleware.CSPMiddleware",
    # Static files under gunicorn (deploy/): right after SecurityMiddleware, as WhiteNoise asks.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL and control characters in a query parameter are a 400 before any view reads them.
    "web.control_characters.RefuseControlCharacters",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Chooses English or French from the language cookie, else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "web.middleware.DisplayTimeZone",
    # Logs out a session idle for KUBEMON_SESSION_IDLE_SECONDS (web/sign_in_guards.py).
    "web.sign_in_guards.IdleSessions",
    # Last, as django-axes asks: answers a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

# Every page's scripts, styles, fonts and images come from the app's static files: no inline
# script or event handler, no inline <style> (web/static/web/, tests/web/test_csp.py). Images
# may also be data: URIs (Swagger UI's icons, in its CSS; the pages' empty favicon).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "kubemon.urls"
WSGI_APPLICATION = "kubemon.wsgi.application"

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
                "django.template.context_processors.i18n",
                "web.context.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envsecret("DATABASE_URL", f"sqlite:///{BASE_DIR / 'kubemon.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 0),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
USE_I18N = True
# Our own number and date formats: Swiss French groups thousands with ' (1'234.50).
FORMAT_MODULE_PATH = ["kubemon.formats"]
USE_TZ = True
TIME_ZONE = "UTC"
# The zone pages show local times in; storage and billing stay in UTC.
KUBEMON_DISPLAY_TIME_ZONE = os.getenv("KUBEMON_DISPLAY_TIME_ZONE", "Europe/Zurich")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Chart.js, installed from the npm registry by `make` (package.json), served as static files.
STATICFILES_DIRS = [("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist")]
# WhiteNoise serves STATIC_ROOT, which the image fills with collectstatic (deploy/Dockerfile).
# Where collectstatic never ran (the demo, the tests) it looks each file up as runserver does.
WHITENOISE_AUTOREFRESH = DEBUG or not STATIC_ROOT.is_dir()
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH

# Lockout after KUBEMON_LOGIN_FAILURE_LIMIT failed sign-ins in a row, counted per username and
# per client address apart (an address trying many users is locked too), for
# KUBEMON_LOGIN_LOCKOUT_MINUTES; a success resets the user's count. Failures are kept in the
# database, shared by every web worker. The address is REMOTE_ADDR, or behind a proxy that
# FORWARDED_ALLOW_IPS trusts, the client it names in X-Forwarded-For (web/sign_in_guards.py).
AXES_FAILURE_LIMIT = envint("KUBEMON_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=envint("KUBEMON_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# The proxies whose X-Forwarded-For names the client: gunicorn's own FORWARDED_ALLOW_IPS
# (deploy/), read here too, so that Django and gunicorn trust the same ones.
KUBEMON_TRUSTED_PROXIES = envlist("FORWARDED_ALLOW_IPS") or ["127.0.0.1", "::1"]
AXES_CLIENT_IP_CALLABLE = "web.sign_in_guards.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
# Django's password rules, applied by the admin's user forms and changepassword.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": envint("KUBEMON_PASSWORD_MIN_LENGTH", 12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A session without a request for this many seconds is logged out (web/sign_in_guards.py).
KUBEMON_SESSION_IDLE_SECONDS = envint("KUBEMON_SESSION_IDLE_SECONDS", 7200)
# Personal API tokens (/tokens/): the longest life a new one may be given, in days.
KUBEMON_API_TOKEN_MAX_DAYS = envint("KUBEMON_API_TOKEN_MAX_DAYS", 365)
# API rates (web/api/throttles.py), DRF's `N/second|minute|hour|day`: anonymous clients per
# address, token clients per user. Signed-in browser sessions are not throttled.
KUBEMON_API_ANON_RATE = os.getenv("KUBEMON_API_ANON_RATE", "60/minute")
KUBEMON_API_TOKEN_RATE = os.getenv("KUBEMON_API_TOKEN_RATE", "600/minute")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

# Sign-in with the school's OpenID Connect provider (mozilla-django-oidc; web/oidc.py,
# docs/security.md). Off while OIDC_RP_CLIENT_ID is empty: then only the password form signs
# in, as in the demo. The OIDC_* names are the library's own.
OIDC_RP_CLIENT_ID = os.getenv("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = envsecret("OIDC_RP_CLIENT_SECRET")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.getenv("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.getenv("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.getenv("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.getenv("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = os.getenv("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.getenv("OIDC_RP_SCOPES", "openid profile email")
# The provider's end-session endpoint: when set, logging out also ends the provider's session
# (RP-initiated logout, web/oidc.py).
OIDC_OP_LOGOUT_ENDPOINT = os.getenv("OIDC_OP_LOGOUT_ENDPOINT", "")
OIDC_OP_LOGOUT_URL_METHOD = "web.oidc.provider_logout_url"
# The ID token is kept in the session for the logout's id_token_hint.
OIDC_STORE_ID_TOKEN = True
# Seconds each call to the provider may take.
OIDC_TIMEOUT = envfloat("KUBEMON_OIDC_TIMEOUT", 10.0)
OIDC_CALLBACK_CLASS = "web.oidc.Callback"
OIDC_AUTHENTICATE_CLASS = "web.oidc.Authenticate"
# A path: the library redirects to it as given.
LOGIN_REDIRECT_URL_FAILURE = "/login/"
# The sign-in button's text ("Sign in with EPFL"); the claim naming the user (`gaspar` at
# EPFL) and the one listing their groups; the groups whose members are finance or ops.
KUBEMON_OIDC_PROVIDER_NAME = os.getenv("KUBEMON_OIDC_PROVIDER_NAME", "the identity provider")
KUBEMON_OIDC_USERNAME_CLAIM = os.getenv("KUBEMON_OIDC_USERNAME_CLAIM", "preferred_username")
KUBEMON_OIDC_GROUPS_CLAIM = os.getenv("KUBEMON_OIDC_GROUPS_CLAIM", "groups")
KUBEMON_OIDC_FINANCE_GROUPS = envlist("KUBEMON_OIDC_FINANCE_GROUPS")
KUBEMON_OIDC_OPS_GROUPS = envlist("KUBEMON_OIDC_OPS_GROUPS")
# The password form: for the demo and a break-glass admin; off leaves only the provider.
KUBEMON_LOCAL_LOGIN = envbool("KUBEMON_LOCAL_LOGIN", "True")
# django-axes' backend first (web/sign_in_guards.py): it refuses a locked-out client before any
# password or provider answer is checked; then the provider's, then the database's passwords.
AUTHENTICATION_BACKENDS = [
    "web.sign_in_guards.LockoutBackend",
    *(["web.oidc.Backend"] if OIDC_RP_CLIENT_ID else []),
    *(["django.contrib.auth.backends.ModelBackend"] if KUBEMON_LOCAL_LOGIN else []),
]
# The Log out form's redirect to the provider is a form action for the browser.
if OIDC_OP_LOGOUT_ENDPOINT:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(
        "{0.scheme}://{0.netloc}".format(urlsplit(OIDC_OP_LOGOUT_ENDPOINT))
    )

REST_FRAMEWORK = {
    # Token first: its `WWW-Authenticate: Token` makes a missing or bad token a 401 (the first
    # class decides), where the session's would make it a 403 without the header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "web.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "web.api.throttles.AnonymousRate",
        "web.api.throttles.TokenRate",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Any unexpected exception: a JSON 500 with the request id, the traceback only logged.
    "EXCEPTION_HANDLER": "web.api.errors.json_errors",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "kube-monitoring API",
    "DESCRIPTION": "Usage, jobs, statements and exports of EPFL's Kubernetes billing.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "web.api.schema.document_rates",
    ],
}

# Prometheus (or Thanos Query, Mimir, VictoriaMetrics: the same HTTP API).
PROMETHEUS_URL = os.getenv("PROMETHEUS_URL", "http://127.0.0.1:9090").rstrip("/")
PROMETHEUS_HEADERS = envheaders("PROMETHEUS_HEADERS")
PROMETHEUS_BEARER_TOKEN = envsecret("PROMETHEUS_BEARER_TOKEN")
# A CA bundle to verify Prometheus' TLS certificate; empty means the system's CAs.
PROMETHEUS_CA_FILE = os.getenv("PROMETHEUS_CA_FILE", "")
# Seconds one Prometheus request may take in all, connection and every read of the answer;
# every query has this deadline (each retry gets a new one).
PROMETHEUS_TIMEOUT = envfloat("PROMETHEUS_TIMEOUT", 30.0)
PROMETHEUS_RETRIES = envint("PROMETHEUS_RETRIES", 3)
# The most points one metrics API request may ask Prometheus for (series x steps).
PROMETHEUS_MAX_POINTS = envint("PROMETHEUS_MAX_POINTS", 11000)
# The largest answer the client reads (bytes, after decompression) and the most series one
# answer may hold; past either the request fails (502) rather than exhausting memory. Collection
# asks per chunk of KUBEMON_COLLECT_CHUNK_HOURS: lower that before raising these.
PROMETHEUS_MAX_BYTES = envint("PROMETHEUS_MAX_BYTES", 256 * 1024 * 1024)
PROMETHEUS_MAX_SERIES = envint("PROMETHEUS_MAX_SERIES", 200_000)

# Seconds /readyz waits for Prometheus (one try): below the readiness probe's timeout.
KUBEMON_READY_TIMEOUT = envfloat("KUBEMON_READY_TIMEOUT", 2.0)
# When set, /metrics answers only scrapes that send `Authorization: Bearer <token>`.
KUBEMON_METRICS_TOKEN = envsecret("KUBEMON_METRICS_TOKEN")

# The cluster name used when series carry no `cluster` label.
KUBEMON_CLUSTER = os.getenv("KUBEMON_CLUSTER", "default")
# The kube_namespace_labels label that names a namespace's account (cost centre).
KUBEMON_ACCOUNT_LABEL = os.getenv("KUBEMON_ACCOUNT_LABEL", "label_epfl_ch_cost_center")
# The kube_pod_labels label naming who ran a pod (`label_user` for Run:ai's `user` label):
# statements then split each account's cost per user. Empty: no split.
KUBEMON_USER_LABEL = os.getenv("KUBEMON_USER_LABEL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "web.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.getenv("KUBEMON_LOG_LEVEL", "INFO")},
    # django-axes announces itself at every start, commands included; WeasyPrint each step of
    # every PDF (its warnings still show).
    "loggers": {"axes.apps": {"level": "WARNING"}, "weasyprint.progress": {"level": "WARNING"}},
}

# Usage collection (python manage.py collect_usage).
# How long after an hour ends before it is collected, so that late scrapes are in.
KUBEMON_COLLECT_LAG_SECONDS = envint("KUBEMON_COLLECT_LAG_SECONDS", 600)
# How many hours the very first collection of a cluster goes back.
KUBEMON_COLLECT_FIRST_HOURS = envint("KUBEMON_COLLECT_FIRST_HOURS", 24)
# Hours fetched per batch of queries; bounds the memory of a run whatever its window.
KUBEMON_COLLECT_CHUNK_HOURS = envint("KUBEMON_COLLECT_CHUNK_HOURS", 6)
# The scrape interval of kube-state-metrics, cAdvisor and DCGM, in seconds.
KUBEMON_SCRAPE_INTERVAL = envint("KUBEMON_SCRAPE_INTERVAL", 30)
# How far back to look for a counter's last sample before an hour; a series silent for
# longer counts as new.
KUBEMON_COUNTER_LOOKBACK = os.getenv("KUBEMON_COUNTER_LOOKBACK", "6h")
# Prometheus queries of a collection run side by side.
KUBEMON_COLLECT_CONCURRENCY = envint("KUBEMON_COLLECT_CONCURRENCY", 2)
# Seconds a run waits for another run of the same cluster to finish (billing/collection/locks.py)
# before it exits, successfully, without collecting.
KUBEMON_COLLECT_LOCK_WAIT = envfloat("KUBEMON_COLLECT_LOCK_WAIT", 60.0)
# Objects seen on both sides of a data gap up to this long (seconds) are billed through it;
# a longer gap is not bridged and its hours are flagged.
KUBEMON_MAX_BRIDGED_GAP = envint("KUBEMON_MAX_BRIDGED_GAP", 3600)
# GPU-seconds per second of a GPU resource, `resource=weight,...`; MIG slices default to
# N/7 of a GPU, nvidia_com_gpu_shared to 1/4 (billing/collection/gpus.py).
KUBEMON_GPU_WEIGHTS = os.getenv("KUBEMON_GPU_WEIGHTS", "")
# A held GPU whose activity (GR_ENGINE_ACTIVE, else GPU_UTIL) is below this percent counts
# as idle (gpu_idle_seconds, billing/collection/energy.py).
KUBEMON_GPU_IDLE_PERCENT = envfloat("KUBEMON_GPU_IDLE_PERCENT", 5.0)
# Grid carbon intensity, g CO2-eq per kWh, of the hours without an imported hourly figure
# (import_grid_intensity; billing/ledger/carbon.py). An assumption to set for the site: the
# default, 98, is Switzerland's consumption mix, annual average (University of Geneva, 2018
# figures); Swiss production alone is about 30, winter hours with imports reach 300.
KUBEMON_GRID_GCO2_PER_KWH = envfloat("KUBEMON_GRID_GCO2_PER_KWH", 98.0)
# Labels that tell the replicas of an HA Prometheus pair apart (read without deduplication).
KUBEMON_REPLICA_LABELS = tuple(
    label.strip()
    for label in os.getenv("KUBEMON_REPLICA_LABELS", "prometheus_replica,replica").split(",")
    if label.strip()
)

# Hourly collection from the system crontab: `python manage.py crontab add` installs it.
# In Kubernetes, run the same command from a CronJob instead (deploy/).
CRONJOBS = [
    # collect_usage, then check_budgets on what it collected (billing/hourly.py).
    (
        os.getenv("KUBEMON_COLLECT_SCHEDULE", "15 * * * *"),
        "billing.hourly.in_turn",
        ["collect_usage", "check_budgets"],
    )
]

# ---------------------------------------------------------------------------------------
# SIFAC export: month-end close and the SAP export (python manage.py close_period and
# export_sifac; docs/billing.md). The SAP values must come from EPFL's SAP team.
# ---------------------------------------------------------------------------------------
# Where export_sifac writes its files (created when missing).
KUBEMON_EXPORT_DIR = os.getenv("KUBEMON_EXPORT_DIR", str(BASE_DIR / "var" / "exports"))
# The mode of the files it writes: group-readable, so that a transfer job running under
# another uid in the files' group (the exports volume's fsGroup) can pick them up.
KUBEMON_EXPORT_FILE_MODE = envmode("KUBEMON_EXPORT_FILE_MODE", "0640")
# Controlling area (CO_AREA, 4) and the platform's sender cost centre (SEND_CCTR, 10).
KUBEMON_SIFAC_CO_AREA = os.getenv("KUBEMON_SIFAC_CO_AREA", "EPFL")
KUBEMON_SIFAC_SENDER_COST_CENTER = os.getenv("KUBEMON_SIFAC_SENDER_COST_CENTER", "1000")
# SAP activity type (ACTTYPE, 6) and unit (3) per resource, JSON objects. A tariff may name
# its own activity type; it must be one of these. gpu_energy (optional: billed only where
# a tariff of it exists) posts as its own activity, K8SGEN ("GPU energy") in KWH, SAP's
# unit for the kilowatt-hour, so that finance can tell energy from GPU-hours in SAP.
KUBEMON_SIFAC_ACTIVITY_TYPES = os.getenv(
    "KUBEMON_SIFAC_ACTIVITY_TYPES",
    '{"cpu": "K8SCPU", "memory": "K8SMEM", "gpu": "K8SGPU", "gpu_memory": "K8SGMM",'
    ' "storage": "K8SSTO", "network_rx": "K8SNRX", "network_tx": "K8SNTX",'
    ' "gpu_energy": "K8SGEN"}',
)
KUBEMON_SIFAC_UNITS = os.getenv(
    "KUBEMON_SIFAC_UNITS",
    '{"cpu": "H", "memory": "GBH", "gpu": "H", "gpu_memory": "GBH", "storage": "GBM",'
    ' "network_rx": "GB", "network_tx": "GB", "gpu_energy": "KWH"}',
)
# The highest price a tariff may carry, CHF per unit (import_tariffs and the admin refuse
# more). The dearest unit, a GPU-hour, costs a few francs: 1000 catches a price with a
# slipped decimal point or a few digits too many, and keeps a month's amounts far inside
# the amount column (12 digits before the point: at 1000 CHF a line overflows only past
# 10^9 units a month, over a million cores busy all month). At most 99999999.999999, what
# the price column holds.
KUBEMON_MAX_PRICE_CHF = envdecimal("KUBEMON_MAX_PRICE_CHF", "1000")
if not 0 < KUBEMON_MAX_PRICE_CHF < 10**8 or KUBEMON_MAX_PRICE_CHF.as_tuple().exponent < -6:
    raise ImproperlyConfigured(
        "KUBEMON_MAX_PRICE_CHF must be more than 0 and less than 100000000 with at most 6 "
        f"decimals (the price column's range), not {KUBEMON_MAX_PRICE_CHF}"
    )
# The SAP user recorded on the postings (USERNAME, 12).
KUBEMON_SIFAC_USERNAME = os.getenv("KUBEMON_SIFAC_USERNAME", "KUBEMON")
# IDoc control record: SAP client (MANDT), ports and logical systems of both sides.
KUBEMON_SIFAC_CLIENT = os.getenv("KUBEMON_SIFAC_CLIENT", "100")
KUBEMON_SIFAC_SENDER_PORT = os.getenv("KUBEMON_SIFAC_SENDER_PORT", "KUBEMON")
KUBEMON_SIFAC_SENDER_SYSTEM = os.getenv("KUBEMON_SIFAC_SENDER_SYSTEM", "KUBEMON")
KUBEMON_SIFAC_RECEIVER_PORT = os.getenv("KUBEMON_SIFAC_RECEIVER_PORT", "SAPPRD")
KUBEMON_SIFAC_RECEIVER_SYSTEM = os.getenv("KUBEMON_SIFAC_RECEIVER_SYSTEM", "PRDCLNT100")
# Day of the month on which the crontab closes the previous month (02:30 UTC) and exports
# it (03:00 UTC) in each of KUBEMON_EXPORT_FORMATS.
KUBEMON_CLOSE_DAY = envint("KUBEMON_CLOSE_DAY", 5)
if not 1 <= KUBEMON_CLOSE_DAY <= 28:
    raise ImproperlyConfigured(f"KUBEMON_CLOSE_DAY must be 1 to 28, not {KUBEMON_CLOSE_DAY}")
KUBEMON_EXPORT_FORMATS = [
    f for f in os.getenv("KUBEMON_EXPORT_FORMATS", "idoc,csv").split(",") if f.strip()
]
CRONJOBS += [
    (
        f"30 2 {KUBEMON_CLOSE_DAY} * *",
        "django.core.management.call_command",
        ["close_period", "previous"],
    ),
    *(
        (
            f"0 3 {KUBEMON_CLOSE_DAY} * *",
            "django.core.management.call_command",
            ["export_sifac", "previous"],
            {"format": fmt.strip()},
        )
        for fmt in KUBEMON_EXPORT_FORMATS
    ),
]

# ---------------------------------------------------------------------------------------
# Mail: statements at close (send_statements) and budget alerts (check_budgets), through
# Django's e-mail. The demo writes the messages as files (DJANGO_EMAIL_BACKEND, Makefile).
# ---------------------------------------------------------------------------------------
EMAIL_BACKEND = os.getenv("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = os.getenv("DJANGO_EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = os.getenv("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = os.getenv("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envsecret("DJANGO_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("DJANGO_EMAIL_USE_TLS", "False")
# Seconds each exchange with the SMTP server may take.
EMAIL_TIMEOUT = envfloat("DJANGO_EMAIL_TIMEOUT", 30.0)
DEFAULT_FROM_EMAIL = os.getenv("DJANGO_DEFAULT_FROM_EMAIL", "kube-monitoring@localhost")
# The address of the pages, for the links in the mails.
KUBEMON_SITE_URL = os.getenv("KUBEMON_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The month's statements mailed to the accounts' contacts once it is closed and exported
# (send_statements; a statement already mailed is not mailed again).
CRONJOBS += [
    (
        f"30 3 {KUBEMON_CLOSE_DAY} * *",
        "django.core.management.call_command",
        ["send_statements", "previous"],
    )
]
