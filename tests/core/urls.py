"""Views that raise service errors, for tests/core/test_http.py (``pytest.mark.urls``)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext_lazy as _
from rest_framework.views import APIView

from core.errors import NotAllowed, NotFound, TooMany
from core.http import service_errors


class Missing(NotFound):
    default_message = _("No such party.")  # a msgid the catalogue translates


class Forbidden(APIView):
    def get(self, request):
        raise NotAllowed


class Busy(APIView):
    def get(self, request):
        raise TooMany(retry_after=7)


@service_errors()
def missing(request):
    raise Missing


def _back_home(request, exc):
    messages.error(request, str(exc))
    return redirect("/")


@service_errors(_back_home)
def refused(request):
    raise NotAllowed


def fine(request):
    return HttpResponse("ok")


urlpatterns = [
    path("api/forbidden", Forbidden.as_view()),
    path("api/busy", Busy.as_view()),
    path("missing", missing),
    path("refused", refused),
    path("fine", service_errors()(fine)),
]
