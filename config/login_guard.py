"""Agent sign-in resists guessing: failed attempts are counted per username and per client address
in Django's cache (Redis in production, shared by every gunicorn worker), and past the limit the
username or address is locked for a while.

- ``record_failure`` listens to ``user_login_failed`` (sent by ``authenticate()`` for the login
  page, the admin and any other caller), ``clear_failures`` to ``user_logged_in``.
- ``LockoutGate``, the first authentication backend, refuses to let any backend check a password
  while locked (so a correct guess during the lockout does not get in), whatever form called it.
- ``GuardedLoginView`` shows the lockout with a clear message and answers HTTP 429 + Retry-After.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import user_logged_in, user_login_failed
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

from core.forms import NoSilentCutMixin


def _limits() -> tuple[int, int, int]:
    return (
        settings.CARTOPARTY_LOGIN_MAX_FAILURES,
        settings.CARTOPARTY_LOGIN_MAX_FAILURES_PER_IP,
        settings.CARTOPARTY_LOGIN_LOCKOUT_SECONDS,
    )


def client_ip(request: HttpRequest | None) -> str:
    """The client's address; behind the trusted proxy, the address the proxy appended last."""
    if request is None:
        return ""
    if settings.SECURE_PROXY_SSL_HEADER and request.META.get("HTTP_X_FORWARDED_FOR"):
        return request.META["HTTP_X_FORWARDED_FOR"].split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def _keys(username: str, ip: str) -> list[tuple[str, int]]:
    max_user, max_ip, _seconds = _limits()
    keys = []
    if username:
        digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        keys.append((f"login-fail:user:{digest}", max_user))
    if ip:
        keys.append((f"login-fail:ip:{ip}", max_ip))
    return keys


def locked_for(username: str, request: HttpRequest | None) -> int:
    """Seconds left before this username or address may try again (0: not locked)."""
    now = time.time()
    until = [cache.get(f"{key}:locked", 0) for key, _limit in _keys(username, client_ip(request))]
    return max([math.ceil(u - now) for u in until if u > now], default=0)


@receiver(user_login_failed, dispatch_uid="cartoparty-login-failed")
def record_failure(sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Count one failure for the username and the address; lock each past its limit."""
    _max_user, _max_ip, seconds = _limits()
    for key, limit in _keys(str(credentials.get("username") or ""), client_ip(request)):
        cache.add(key, 0, timeout=seconds)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=seconds)
            count = 1
        if count >= limit:
            cache.set(f"{key}:locked", time.time() + seconds, timeout=seconds)


@receiver(user_logged_in, dispatch_uid="cartoparty-login-ok")
def clear_failures(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """A successful sign-in forgets the username's failures (not the address's: a guesser who knows
    one password must not reset the counter for the others)."""
    for key, _limit in _keys(user.get_username(), "")[:1]:
        cache.delete(key)


class LockoutGate:
    """First in AUTHENTICATION_BACKENDS: stops authenticate() while the username or address is
    locked; otherwise steps aside (None) for ModelBackend. It never signs anyone in itself."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, **kwargs: Any) -> None:
        if username and locked_for(username, request):
            raise PermissionDenied  # authenticate() stops here and sends user_login_failed
        return None

    # No get_user(): sessions are never bound to the gate (Client.force_login and auth.login pick
    # the first backend that has one, ModelBackend).


def lockout_message(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return ngettext(
        "Too many failed sign-in attempts. For your security, signing in is blocked for %(minutes)s minute.",
        "Too many failed sign-in attempts. For your security, signing in is blocked for %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}


# The mixin goes before an AuthenticationForm (the site's or the admin's); mypy reads it as one.
if TYPE_CHECKING:
    _AuthenticationFormBase = AuthenticationForm
else:
    _AuthenticationFormBase = object


class GuardedFormMixin(_AuthenticationFormBase):
    """Checks the lockout before the password, with a message that says what happened."""

    locked_seconds = 0

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "")
        self.locked_seconds = locked_for(username, self.request)
        if self.locked_seconds:
            raise ValidationError(lockout_message(self.locked_seconds), code="locked")
        return super().clean()


class GuardedAuthenticationForm(NoSilentCutMixin, GuardedFormMixin, AuthenticationForm):
    pass


class GuardedAdminAuthenticationForm(GuardedFormMixin, AdminAuthenticationForm):
    pass


class GuardedLoginView(LoginView):
    """The sign-in page; while locked it answers 429 with Retry-After and the lockout message."""

    authentication_form = GuardedAuthenticationForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        assert isinstance(form, GuardedAuthenticationForm)  # the authentication_form above
        response = super().form_invalid(form)
        # The failure just recorded may have started the lockout.
        seconds = form.locked_seconds or locked_for(form.data.get("username", ""), self.request)
        if seconds:
            if not form.locked_seconds:
                form.errors.clear()
                form.add_error(None, ValidationError(lockout_message(seconds), code="locked"))
                response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            response["Retry-After"] = str(seconds)
        return response
