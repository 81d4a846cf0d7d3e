"""parties owns the people and the events: towns (name, boundary), mapping parties (dates, area,
join link and its QR code and poster), residents (joining with a nickname, licence consent) and
agents (managing their town's parties), who may see which party, and the presets a party offers
(``parties/presets/``, from iD's tagging schema). It imports no app but core: what counts revisions
(the dashboard's numbers) is mapping's."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartiesConfig(AppConfig):
    name = "parties"
    verbose_name = _("Towns and parties")
