"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import config.celery  # noqa: F401  (imported for its effect: the configured Celery app, see below)
from config.login_guard import GuardedAdminAuthenticationForm, GuardedLoginView

# Views queue jobs (exports, prints) through exports.tasks' shared task, which runs on the default
# Celery application: every process serving requests loads this module, so each has the configured
# one before its first request; commands that never queue a job do not pay for importing Celery.

admin.site.login_form = GuardedAdminAuthenticationForm  # the same lockout message on the admin's sign-in

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # Sign-in with the lockout (429 + Retry-After after repeated failures); before the stock auth URLs.
    path("accounts/login/", GuardedLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Split view: the Swagger UI initialiser is a separate script (strict CSP, no inline script).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("mapping.api.urls", namespace="mapping-api")),
    path("api/", include("parties.api.urls", namespace="parties-api")),
    path("", include("exports.urls", namespace="exports")),
    path("", include("exports.print_urls", namespace="printing")),  # base tiles and printed maps
    path("", include("parties.urls", namespace="parties")),
    path("", include("mapping.urls", namespace="mapping")),
    path("", include("review.urls", namespace="review")),
]

handler404 = "config.security.not_found"  # JSON under /api/
