"""Towns (tenants), people and cartoparties (events)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.gis.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.geo import SRID


class Town(models.Model):
    """A tenant: owns its agents, parties and map data."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200)
    # The extent of the imported data; parties default to it.
    boundary = models.MultiPolygonField(_("boundary"), srid=SRID, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("town")
        verbose_name_plural = _("towns")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("mapping:town-map", kwargs={"slug": self.slug})


class User(AbstractUser):
    """Agents (password accounts of one town) and residents (passwordless, bound to one party)."""

    class Role(models.TextChoices):
        AGENT = "agent", _("Municipal agent")
        RESIDENT = "resident", _("Resident")
        STAFF = "staff", _("Platform staff")

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    town = models.ForeignKey(
        Town,
        verbose_name=_("town"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="people",
    )
    party = models.ForeignKey(
        "Party",
        verbose_name=_("party"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residents",
    )
    nickname = models.CharField(_("nickname"), max_length=40, blank=True)
    # When a resident accepted that their contributions are published under the open licence.
    licence_consent_at = models.DateTimeField(_("licence accepted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # Case-insensitive: "Anna" and "anna" would be the same person on the dashboard.
            models.UniqueConstraint(
                "party",
                Lower("nickname"),
                condition=models.Q(party__isnull=False),
                name="unique_nickname_per_party_ci",
            ),
        ]

    @property
    def display_name(self) -> str:
        """The name others see (see :func:`public_name`); never the user name, a sign-in credential."""
        return public_name(self.nickname, self.role)

    @property
    def is_agent(self) -> bool:
        return self.role == self.Role.AGENT and self.town_id is not None


def public_name(nickname: str, role: str) -> str:
    """How a person is credited on any page, print or file: the nickname they chose, else their role.

    Residents always choose a nickname when they join; agents may choose one (the "public name" on
    their home page) and are otherwise shown as "Town agent". The user name is never shown: it is how
    an agent signs in, and public pages, prints and exports are read by anyone.
    """
    if nickname:
        return nickname
    if role == User.Role.STAFF:
        return str(_("Platform staff"))
    if role == User.Role.RESIDENT:
        return str(_("A resident"))
    return str(_("Town agent"))


def _join_code() -> str:
    return secrets.token_urlsafe(9)


class Party(models.Model):
    """A cartoparty: an area, a time window and a preset set, joined with a code."""

    town = models.ForeignKey(Town, verbose_name=_("town"), on_delete=models.PROTECT, related_name="parties")
    title_fr = models.CharField(_("title (French)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_fr = models.TextField(_("description (French)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    area = models.PolygonField(_("area"), srid=SRID)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    preset_set = models.CharField(_("preset set"), max_length=60, default="cartoparty")
    hashtag = models.CharField(_("hashtag"), max_length=100, blank=True)
    join_code = models.CharField(_("join code"), max_length=32, unique=True, default=_join_code)
    rate_limit_per_minute = models.PositiveIntegerField(_("edits per minute per resident"), default=30)
    # A GPS fix less precise than this is shown as poor, and placing a point there asks first.
    gps_accuracy_m = models.PositiveIntegerField(_("GPS accuracy needed (metres)"), default=20)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("party")
        verbose_name_plural = _("parties")

    def __str__(self) -> str:
        return self.title_fr or self.title_en

    def get_absolute_url(self) -> str:
        return reverse("parties:dashboard", kwargs={"party_id": self.pk})

    @property
    def phase(self) -> str:
        """ "upcoming", "running" or "ended", right now."""
        now = timezone.now()
        if now < self.starts_at:
            return "upcoming"
        return "running" if now < self.ends_at else "ended"

    @property
    def title(self) -> str:
        """The title in the active language, falling back to the other one."""
        if (get_language() or "").startswith("en"):
            return self.title_en or self.title_fr
        return self.title_fr or self.title_en

    @property
    def description(self) -> str:
        """The description in the active language, falling back to the other one."""
        if (get_language() or "").startswith("en"):
            return self.description_en or self.description_fr
        return self.description_fr or self.description_en
