"""Agents-only pages: the one decorator that guards them and the one lookup of the town they work on.

``parties``, ``review`` and ``exports`` all have such pages; they share these (every app above
``parties`` may import it) so that who may open them is decided in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from parties.models import Town
from parties.permissions import is_agent, is_agent_of


def agent_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Agents only: anonymous visitors are sent to sign in, anyone else gets 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
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
        if not is_agent(request.user):
            raise PermissionDenied
        return request.user.town
    town = get_object_or_404(Town, slug=slug)
    if not is_agent_of(request.user, town):
        raise PermissionDenied
    return town
