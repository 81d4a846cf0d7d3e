"""The agent's "Order a print" form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import NoSilentCutMixin
from exports.printing.sheet import PAPERS_MM
from parties.models import Party, Town


class PrintOrderForm(NoSilentCutMixin, forms.Form):
    paper = forms.ChoiceField(label=_("Paper"), choices=[(p, p) for p in PAPERS_MM], initial="A3")
    landscape = forms.BooleanField(label=_("Landscape"), required=False)
    lang = forms.ChoiceField(
        label=_("Language of the map"), choices=[("fr", _("French")), ("en", _("English"))]
    )
    party = forms.ModelChoiceField(
        label=_("Area of a party"),
        queryset=Party.objects.none(),
        required=False,
        empty_label=_("— the whole town, or the box below —"),
    )
    bbox = forms.CharField(
        label=_("Area (west,south,east,north)"),
        required=False,
        max_length=100,
        help_text=_(
            "Degrees, e.g. 9.51,47.13,9.53,47.15. Empty: the whole town, or the area around its centre "
            "at 1:10,000 if the town is too large for one sheet."
        ),
    )
    title = forms.CharField(label=_("Title"), required=False, max_length=200)
    changes_page = forms.BooleanField(
        label=_("Add a page listing the changes since the previous edition"), required=False
    )

    def __init__(self, *args, town: Town, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        party = self.fields["party"]
        assert isinstance(party, forms.ModelChoiceField)  # declared above
        party.queryset = Party.objects.filter(town=town)

    def params(self) -> dict:
        data = self.cleaned_data
        return {
            "paper": data["paper"],
            "landscape": data["landscape"],
            "lang": data["lang"],
            "party": data["party"].pk if data["party"] else None,
            "bbox": data["bbox"] or None,
            "title": data["title"],
            "changes_page": data["changes_page"],
        }
