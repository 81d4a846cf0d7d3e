"""Agents-only pages: the one decorator that guards them and the one lookup of the town they work on.

``parties``, ``review`` and ``exports`` all have such pages; they share these (every app above
``parties`` may import it) so that who may open them is decided in one place.

The request types say what a guard has checked: behind :func:`agent_required` or Django's
``login_required`` a view takes an :class:`AuthenticatedHttpRequest`, and an API view whose
permission classes let only accounts through (``IsAuthenticated``, ``IsAgent``) an
:class:`AuthenticatedRequest`; their ``request.user`` is then an account, never ``AnonymousUser``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeGuard, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from parties.models import Town, User
from parties.permissions import is_agent, is_agent_of

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


class AuthenticatedHttpRequest(HttpRequest):
    """A request a sign-in check has let through (:func:`agent_required`, ``login_required``).

    Only a type: Django's own request is what arrives, and this says its ``user`` is an account.
    """

    user: User


class AuthenticatedRequest(Request):
    """An API request whose view's permission classes let only accounts through (``IsAuthenticated``,
    ``IsAgent``), or that :func:`signed_in` has checked. Only a type, as :class:`AuthenticatedHttpRequest`.
    """

    user: User


def is_signed_in(request: HttpRequest) -> TypeGuard[AuthenticatedHttpRequest]:
    """True when the request comes from an account (an agent or a resident), not an anonymous visitor."""
    return isinstance(request.user, User)


def signed_in(request: Request) -> User:
    """The requester's account, for API views that check it themselves: anonymous requests get 403."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated
    return user


def agent_required(
    view: Callable[Concatenate[AuthenticatedHttpRequest, P], R],
) -> Callable[Concatenate[HttpRequest, P], R | HttpResponseRedirect]:
    """Agents only: anonymous visitors are sent to sign in, anyone else gets 403.

    Typed with the view's own parameters and response type (a page, JSON, a file), so a decorated
    view is checked as it is written (its ``request.user`` an account); the one other answer is the
    redirect to sign in.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R | HttpResponseRedirect:
        if not is_signed_in(request):
            return redirect_to_login(request.get_full_path())
        if not is_agent(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def agent_town(request: HttpRequest | Request, slug: str | None = None) -> Town:
    """The town an agents-only page works on; every lookup of the page starts from it.

    Without ``slug``, the requesting agent's own town. With it, the town of the URL (unknown: 404),
    which the requester must be an agent of (403 otherwise). Pages call it behind
    :func:`agent_required` (API views behind an agents-only check), so the requester is a signed-in
    agent.
    """
    if slug is None:
        user = request.user
        # is_agent implies the other two (a signed-in account bound to a town); they tell mypy so.
        if not is_agent(user) or not isinstance(user, User) or user.town is None:
            raise PermissionDenied
        return user.town
    town = get_object_or_404(Town, slug=slug)
    if not is_agent_of(request.user, town):
        raise PermissionDenied
    return town
