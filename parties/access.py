"""Agents-only pages: the one decorator that guards them and the one lookup of the town they work on.

``parties``, ``review`` and ``exports`` all have such pages; they share these (every app above
``parties`` may import it) so that who may open them is decided in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404

from parties.models import Town, User
from parties.permissions import is_agent, is_agent_of

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


def agent_required(
    view: Callable[Concatenate[HttpRequest, P], R],
) -> Callable[Concatenate[HttpRequest, P], R | HttpResponseRedirect]:
    """Agents only: anonymous visitors are sent to sign in, anyone else gets 403.

    Typed with the view's own parameters and response type (a page, JSON, a file), so a decorated
    view is checked as it is written; the one other answer is the redirect to sign in.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R | HttpResponseRedirect:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_agent(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def agent_town(request: HttpRequest, slug: str | None = None) -> Town:
    """The town an agents-only page works on; every lookup of the page starts from it.

    Without ``slug``, the requesting agent's own town. With it, the town of the URL (unknown: 404),
    which the requester must be an agent of (403 otherwise). Pages call it behind
    :func:`agent_required`, so the requester is a signed-in agent.
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
