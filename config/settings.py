"""Cartoparty settings: one module, every value from an environment variable with a safe default.

Every variable is documented in docs/settings.md and listed in .env.example.
"""

from pathlib import Path
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CARTOPARTY_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and env.bool("CARTOPARTY_PRODUCTION", default=False):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production.")
    # Development only: a fixed, obviously-insecure key so sessions survive restarts.
    SECRET_KEY = "dev-insecure-cartoparty-key-change-me-in-production-0123456789"  # noqa: S105 (a dev key by design; production refuses to start without one)
# The production domain, the one Caddy gets certificates for (docker-compose.yml, docs/deploy.md):
# the host names, the trusted origin and the public URL follow it unless set on their own.
CARTOPARTY_DOMAIN = env.str("CARTOPARTY_DOMAIN", default="")
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=[CARTOPARTY_DOMAIN] if CARTOPARTY_DOMAIN else ["127.0.0.1", "localhost", "[::1]"],
)
CSRF_TRUSTED_ORIGINS = env.list(
    "DJANGO_CSRF_TRUSTED_ORIGINS", default=[f"https://{CARTOPARTY_DOMAIN}"] if CARTOPARTY_DOMAIN else []
)

# Without DATABASE_URL: the private cluster that scripts/bootstrap.sh starts, on a socket under var/.
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL", engine="django.contrib.gis.db.backends.postgis")}
    # A Unix-socket directory may be given percent-encoded: postgis://user@%2Fpath%2Fto%2Frun:5433/db
    DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST", ""))
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.contrib.gis.db.backends.postgis",
            "NAME": "cartoparty",
            "USER": "cartoparty",
            "HOST": str(VAR_DIR / "run"),
            "PORT": "5433",
        }
    }
# Several checkouts or helpers can test side by side on one cluster with distinct test databases.
DATABASES["default"]["TEST"] = {"NAME": env.str("CARTOPARTY_TEST_DB", default="test_cartoparty")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "leaflet",
    "rest_framework",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files (CSP: no CDN)
    "parties",
    "mapping",
    "review",
    "exports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.security.SecurityHeadersMiddleware",  # CSP, Permissions-Policy, COOP
    # Before WhiteNoise: the static files it answers itself (once collected) get the header too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.security.LoadSheddingMiddleware",  # queued too long behind the proxy: 503 at once
    "config.security.BodySizeLimitMiddleware",  # bodies over CARTOPARTY_MAX_BODY_BYTES: 413
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "config.security.MalformedRequestMiddleware",  # NUL / control characters, unreadable forms: 400
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.security.DatabaseUnavailableMiddleware",  # database down: 503 + Retry-After, not 500
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "parties.User"
# The lockout gate first: it stops password checks while a username or address is locked.
AUTHENTICATION_BACKENDS = ["config.login_guard.LockoutGate", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"

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
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("CARTOPARTY_TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    # Photos go through default_storage: files under MEDIA_ROOT, or an S3-compatible bucket with
    # django-storages (docs/deploy.md). MEDIA_URL is never served as is: photos are sent by a view
    # that checks who asks (mapping.views.photo_file).
    "default": {
        "BACKEND": env.str("CARTOPARTY_MEDIA_STORAGE", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("CARTOPARTY_MEDIA_STORAGE_OPTIONS", default={}),
    },
    "staticfiles": {
        "BACKEND": "config.storage.StaticFilesStorage"
        if not DEBUG and env.bool("CARTOPARTY_PRODUCTION", default=False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Security (production values come from the environment; see docs/settings.md) ---
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_PROXY", default=False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Sessions read from the cache (Redis in production), written through to the database: one query
# fewer on every request of a busy evening, and nothing lost if the cache restarts.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Sign-in guessing: failures per username / per address before a lockout of this many seconds.
CARTOPARTY_LOGIN_MAX_FAILURES = env.int("CARTOPARTY_LOGIN_MAX_FAILURES", default=5)
CARTOPARTY_LOGIN_MAX_FAILURES_PER_IP = env.int("CARTOPARTY_LOGIN_MAX_FAILURES_PER_IP", default=20)
CARTOPARTY_LOGIN_LOCKOUT_SECONDS = env.int("CARTOPARTY_LOGIN_LOCKOUT_SECONDS", default=15 * 60)
# The cache holds the sign-in counters: it must be shared by every gunicorn worker in production
# (Redis); local memory is enough for one development process and the tests.
CARTOPARTY_CACHE_URL = env.str("CARTOPARTY_CACHE_URL", default="")
if not CARTOPARTY_CACHE_URL and not DEBUG and env.bool("CARTOPARTY_PRODUCTION", default=False):
    raise ImproperlyConfigured("CARTOPARTY_CACHE_URL (e.g. redis://redis:6379/2) must be set in production.")
CACHES = {
    "default": env.cache_url_config(CARTOPARTY_CACHE_URL)
    if CARTOPARTY_CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cartoparty"}
}
# Several sites (or bench databases) sharing one Redis keep their keys apart with a prefix.
CACHES["default"]["KEY_PREFIX"] = env.str("CARTOPARTY_CACHE_KEY_PREFIX", default="")
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("CARTOPARTY_MAX_BODY_BYTES", default=2 * 1024 * 1024)
# Photos residents attach to their edits (mapping/photos.py): the largest file accepted (its upload
# route alone may carry a body this large, plus the form's few fields) and the most pixels decoded.
CARTOPARTY_PHOTO_MAX_BYTES = env.int("CARTOPARTY_PHOTO_MAX_BYTES", default=15 * 1024 * 1024)
CARTOPARTY_PHOTO_MAX_PIXELS = env.int("CARTOPARTY_PHOTO_MAX_PIXELS", default=50_000_000)
CARTOPARTY_PHOTOS_PER_EDIT = env.int("CARTOPARTY_PHOTOS_PER_EDIT", default=6)

# --- Leaflet: our own tiles only, never an external server ---
LEAFLET_CONFIG = {
    "TILES": [],
    "DEFAULT_CENTER": (47.14, 9.52),
    "DEFAULT_ZOOM": 13,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 19,
    "ATTRIBUTION_PREFIX": "© OpenStreetMap contributors, ODbL",
    "RESET_VIEW": False,
    "NO_GLOBALS": False,
}

# --- API ---
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Service errors (core.errors) answer with their status and a message in the reader's language.
    "EXCEPTION_HANDLER": "core.http.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # NUL, lone surrogates, 1e400 and deep nesting refused with a 400 (core/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cartoparty API",
    "DESCRIPTION": "Participatory open mapping: map data, parties, edits, review and open-data exports.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's static files: no CDN, CSP 'self' only.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Errors any operation can answer (400, 403, 404, 405, 413, 415, 503), documented once.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.add_common_errors",
    ],
    # One enum name per choice set (check --deploy --fail-level WARNING stays clean).
    "ENUM_NAME_OVERRIDES": {
        "RevisionActionEnum": "mapping.models.Revision.Action",
        "RevisionStatusEnum": "mapping.models.Revision.Status",
        "JobStatusEnum": "exports.models.Job.Status",
    },
}

# --- Celery (Redis broker; the run command starts a private Redis under var/) ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6390/0")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="redis://127.0.0.1:6390/1")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Cartoparty ---
CARTOPARTY_MAX_FEATURES = env.int("CARTOPARTY_MAX_FEATURES", default=5000)
CARTOPARTY_TILE_DIR = Path(env.str("CARTOPARTY_TILE_DIR", default=str(VAR_DIR / "tiles")))
CARTOPARTY_EXPORT_DIR = Path(env.str("CARTOPARTY_EXPORT_DIR", default=str(VAR_DIR / "exports")))
# Exports of more elements than this are built by the Celery worker, smaller ones in the request.
CARTOPARTY_EXPORT_SYNC_MAX = env.int("CARTOPARTY_EXPORT_SYNC_MAX", default=200_000)
CARTOPARTY_PUBLIC_URL = env.str(
    "CARTOPARTY_PUBLIC_URL",
    default=f"https://{CARTOPARTY_DOMAIN}" if CARTOPARTY_DOMAIN else "http://127.0.0.1:8000",
)
# Load shedding: a request queued longer than this (X-Request-Start from the proxy) answers 503.
CARTOPARTY_MAX_QUEUE_MS = env.int("CARTOPARTY_MAX_QUEUE_MS", default=3000)
# A killed export's build directory is removed once nothing has written to it for this long.
CARTOPARTY_STALE_BUILD_SECONDS = env.int("CARTOPARTY_STALE_BUILD_SECONDS", default=30)
CARTOPARTY_ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # WeasyPrint logs every layout step at INFO: one line per step per PDF.
    "loggers": {"weasyprint.progress": {"level": "WARNING"}},
}

# GDAL < 3.9 (Debian 12 ships 3.6) cannot block file/network access when parsing spatial
# references. Cartoparty never parses a user-supplied SRS: every geometry is in core.geo.SRID, set by us.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
