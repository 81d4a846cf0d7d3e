"""Forms: they parse and label input; the rules live in parties.services."""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.contrib.gis import forms as gis_forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from leaflet.forms.widgets import LeafletWidget

from core.forms import NoSilentCutMixin
from core.geo import SRID
from parties import services
from parties.models import Party, Town


class JoinForm(NoSilentCutMixin, forms.Form):
    """A nickname and consent to the open licence: all a resident is ever asked."""

    nickname = forms.CharField(
        label=_("Your nickname"),
        max_length=services.NICKNAME_MAX_LENGTH,
        help_text=_("Shown next to your contributions. No e-mail, no password."),
        widget=forms.TextInput(attrs={"autocomplete": "nickname", "autocapitalize": "off"}),
    )
    consent = forms.BooleanField(
        label=_(
            "I agree that what I add is published as open data under the Open Database Licence (ODbL), "
            "like OpenStreetMap."
        ),
        required=False,  # the service refuses without it, with its own message
    )


class PublicNameForm(forms.Form):
    """The name an agent is credited under on public pages and prints (empty: "Town agent")."""

    nickname = forms.CharField(
        label=_("Your public name"),
        max_length=services.NICKNAME_MAX_LENGTH,
        required=False,
        help_text=_(
            "Shown on the public map's history, the open-data page and printed maps next to the changes "
            "you make or accept. Leave it empty to be shown as “Town agent”. Your user name is never shown."
        ),
    )


class AreaWidget(LeafletWidget):
    """django-leaflet's drawing widget (Leaflet.draw), rendered without inline script.

    The map is set up by static/parties/js/area-widget.js from data-* attributes, so the page works
    under a strict Content-Security-Policy.
    """

    template_name = "parties/widgets/area.html"
    geom_type = "POLYGON"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["town_boundary"] = self.attrs.get("town_boundary", "")
        return context


DATETIME_WIDGET_FORMAT = "%Y-%m-%dT%H:%M"


class PartyDateTimeField(forms.DateTimeField):
    """A party's start or end: within services.PARTY_YEARS, offered as the date picker's min and max
    and checked here, so the message is on the field."""

    def __init__(self, **kwargs: Any) -> None:
        first, last = services.PARTY_YEARS
        attrs = {"type": "datetime-local", "min": f"{first}-01-01T00:00", "max": f"{last}-12-31T23:59"}
        super().__init__(widget=forms.DateTimeInput(attrs=attrs, format=DATETIME_WIDGET_FORMAT), **kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not services.PARTY_YEARS[0] <= value.year <= services.PARTY_YEARS[1]:
            raise forms.ValidationError(services.party_date_error(), code="date_out_of_range")


class PartyForm(NoSilentCutMixin, forms.Form):
    """An agent's party: labels and parsing only; parties.services.create_party/update_party decide."""

    title_fr = forms.CharField(label=_("Title in French"), max_length=200)
    title_en = forms.CharField(label=_("Title in English"), max_length=200, required=False)
    description_fr = forms.CharField(
        label=_("Description in French"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    description_en = forms.CharField(
        label=_("Description in English"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    use_town_boundary = forms.BooleanField(
        label=_("Use the town's boundary as the area"),
        required=False,
        help_text=_("Or draw the area on the map below."),
    )
    area = gis_forms.PolygonField(label=_("Area"), srid=SRID, required=False, widget=AreaWidget)
    starts_at = PartyDateTimeField(label=_("Starts at"))
    ends_at = PartyDateTimeField(label=_("Ends at"))
    preset_set = forms.ChoiceField(label=_("Presets offered"), choices=services.preset_set_choices)
    hashtag = forms.CharField(
        label=_("Hashtag"),
        max_length=100,
        required=False,
        help_text=_("Used in exports. Leave empty for #cartoparty-<town>-<date>."),
    )
    rate_limit_per_minute = forms.IntegerField(
        label=_("Edits per minute per resident"),
        min_value=1,
        max_value=services.MAX_RATE_LIMIT_PER_MINUTE,
        initial=30,
        help_text=_("Above this, a resident is asked to wait a little."),
    )
    gps_accuracy_m = forms.IntegerField(
        label=_("GPS accuracy needed (metres)"),
        min_value=services.GPS_ACCURACY_RANGE[0],
        max_value=services.GPS_ACCURACY_RANGE[1],
        initial=20,
        required=False,  # empty: the default, 20 m
        help_text=_("A less precise position is shown as poor; placing a point there asks first."),
    )

    def __init__(self, *args: Any, town: Town, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].widget.attrs["town_boundary"] = town.boundary.geojson if town.boundary else ""
        if town.boundary is None:
            self.fields["use_town_boundary"].disabled = True
            self.fields["use_town_boundary"].help_text = _("This town has no boundary yet: draw the area.")

    @staticmethod
    def initial_for(party: Party) -> dict[str, Any]:
        """The form's initial values for an existing party."""
        names = [
            "title_fr",
            "title_en",
            "description_fr",
            "description_en",
            "area",
            "starts_at",
            "ends_at",
            "preset_set",
            "hashtag",
            "rate_limit_per_minute",
            "gps_accuracy_m",
        ]
        initial = {name: getattr(party, name) for name in names}
        for name in ("starts_at", "ends_at"):
            with contextlib.suppress(
                OverflowError
            ):  # stored at the calendar's edge, before dates were checked
                initial[name] = timezone.localtime(initial[name])
        return initial
