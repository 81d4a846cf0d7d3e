"""Thin HTML views: parse input, call one service or selector, render."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import ServiceError
from core.http import service_errors
from parties import permissions, poster, selectors, services
from parties.access import AuthenticatedHttpRequest, agent_required, agent_town
from parties.forms import JoinForm, PartyForm, PublicNameForm
from parties.models import Party


def _join_refused(request: HttpRequest, exc: ServiceError, join_code: str) -> HttpResponse:
    """Why this account may not join (an agent signed in...), on the party's own page."""
    party = get_object_or_404(Party.objects.select_related("town"), join_code=join_code)
    return render(
        request, "parties/party_join_refused.html", {"party": party, "reason": exc}, status=exc.status
    )


@require_http_methods(["GET", "POST"])
@service_errors(_join_refused)
def join(request: HttpRequest, join_code: str) -> HttpResponse:
    """Join a party from its link: nickname + licence consent, then straight to the map."""
    party = get_object_or_404(Party.objects.select_related("town"), join_code=join_code)
    if permissions.is_resident_of(request.user, party):
        return redirect("parties:map", party_id=party.pk)
    services.check_can_join(request.user)  # JoinRefused: 403, the reason on the party's page
    opens, closes = services.join_window(party)
    if not services.is_joinable(party):
        ended = timezone.now() >= closes
        # 410 once it is over; before it opens the page says when to come back.
        status = 410 if ended else (403 if request.method == "POST" else 200)
        context = {"party": party, "opens": opens, "ended": ended}
        return render(request, "parties/party_join_closed.html", context, status=status)
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.join_party(party, form.cleaned_data["nickname"], form.cleaned_data["consent"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            # Signed in on this phone for the party's duration, not a minute more.
            request.session.set_expiry(closes)
            return redirect("parties:map", party_id=party.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "parties/party_join.html", {"party": party, "form": form}, status=status)


@require_GET
def party_map(request: HttpRequest, party_id: int) -> HttpResponse:
    """The mapping page of a party, for its residents and its town's agents."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    party = get_object_or_404(Party.objects.select_related("town"), pk=party_id)
    if not permissions.can_view_party(request.user, party):
        raise Http404
    context = {
        "party": party,
        "area": json.loads(party.area.geojson),  # for json_script
        "is_resident": permissions.is_resident_of(request.user, party),
    }
    return render(request, "parties/party_map.html", context)


@require_http_methods(["GET", "POST"])
@agent_required
def manage(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The agent's home: their town's parties, soonest first, and the name they are credited under."""
    form = PublicNameForm(request.POST or None, initial={"nickname": request.user.nickname})
    if request.method == "POST" and form.is_valid():
        try:
            services.set_public_name(request.user, form.cleaned_data["nickname"])
        except ValidationError as exc:
            form.add_error("nickname", exc)
        else:
            messages.success(request, _("Your public name is saved."))
            return redirect("parties:manage")
    parties = selectors.parties_for_user(request.user).order_by("-starts_at")
    context = {"town": request.user.town, "parties": parties, "name_form": form}
    status = 400 if request.method == "POST" else 200
    return render(request, "parties/manage.html", context, status=status)


def _party_form(request: AuthenticatedHttpRequest, party: Party | None) -> HttpResponse:
    town = party.town if party else agent_town(request)
    initial = PartyForm.initial_for(party) if party else {}
    form = PartyForm(request.POST or None, town=town, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = services.PartyInput.from_data(form.cleaned_data)
        try:
            if party is None:
                party = services.create_party(request.user, data)
            else:
                party = services.update_party(request.user, party, data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(party)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "party": party, "town": town}
    return render(request, "parties/party_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@agent_required
def party_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _party_form(request, None)


@require_http_methods(["GET", "POST"])
@agent_required
def party_edit(request: AuthenticatedHttpRequest, party_id: int) -> HttpResponse:
    return _party_form(request, selectors.party_for_agent(request.user, party_id))


@require_GET
@agent_required
def dashboard(request: AuthenticatedHttpRequest, party_id: int) -> HttpResponse:
    """The live dashboard of a party for its town's agents."""
    party = selectors.party_for_agent(request.user, party_id)
    context = {
        "party": party,
        "join_url": poster.join_url(party),
        "loopback_public_url": poster.loopback_public_url(),
        "area": json.loads(party.area.geojson),
    }
    return render(request, "parties/party_dashboard.html", context)


@require_GET
@agent_required
def party_qr(request: AuthenticatedHttpRequest, party_id: int, kind: str) -> HttpResponse:
    """The join link's QR code, SVG or PNG."""
    party = selectors.party_for_agent(request.user, party_id)
    if kind not in poster.QR_KINDS:
        raise Http404
    response = HttpResponse(poster.qr_code(party, kind), content_type=poster.QR_KINDS[kind])
    response["Content-Disposition"] = f'inline; filename="cartoparty-{party.pk}-qr.{kind}"'
    return response


@require_GET
@agent_required
def party_poster(request: AuthenticatedHttpRequest, party_id: int) -> HttpResponse:
    """The printable A4 poster (PDF) with the QR code and a bilingual how-to."""
    party = selectors.party_for_agent(request.user, party_id)
    response = HttpResponse(poster.poster_pdf(party), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="cartoparty-{party.pk}-poster.pdf"'
    return response
