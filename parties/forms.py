"""Forms: they parse and label input; the rules live in parties.services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from parties.services import NICKNAME_MAX_LENGTH


class JoinForm(forms.Form):
    """A nickname and consent to the open licence: all a resident is ever asked."""

    nickname = forms.CharField(
        label=_("Your nickname"),
        max_length=NICKNAME_MAX_LENGTH,
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
