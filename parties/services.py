"""Business rules for towns' parties and the residents who join them."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from dataclasses import dataclass, fields
from typing import Any

import icu
from django.contrib.auth import password_validation
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.errors import NotAllowed
from core.geo import SRID
from parties import permissions, presets
from parties.models import Party, Town, User

DEFAULT_PRESET_SET = presets.DEFAULT_SET


def preset_set_choices() -> list[tuple[str, str]]:
    """The preset sets an agent may offer at a party (value, label in the active language)."""
    return presets.set_choices(get_language())


# Residents may join this long before the start, so they can settle in while the agent explains.
JOIN_OPENS_BEFORE = dt.timedelta(hours=1)
NICKNAME_MIN_LENGTH = 2
NICKNAME_MAX_LENGTH = 40


def join_window(party: Party) -> tuple[dt.datetime, dt.datetime]:
    """When residents may join ``party``: from a little before its start until its end.

    A party stored at the very start of the calendar (year 1, from before the form checked dates)
    opens at its start: an hour earlier does not exist, and the join page must not answer 500."""
    try:
        return party.starts_at - JOIN_OPENS_BEFORE, party.ends_at
    except OverflowError:
        return party.starts_at, party.ends_at


def is_joinable(party: Party, now: dt.datetime | None = None) -> bool:
    """True while the join link works."""
    opens, closes = join_window(party)
    now = now or timezone.now()
    return opens <= now < closes


class JoinRefused(NotAllowed):
    """The signed-in account may not join as a resident (HTTP 403): see :func:`check_can_join`."""


def check_can_join(user: Any) -> None:
    """Agents and platform staff signed in are refused: they review parties, they do not join them.

    Joining used to sign the agent in as a new resident on the same device: a second account of the
    same person, whose edits that agent could then accept (nobody reviews their own edits, but the
    review only saw two accounts). Refusing keeps one person one account while they are signed in; an
    agent who wants to map signs out and joins on a phone as anyone else, and another agent reviews.
    Residents (of this or another party) and anonymous visitors may join.
    """
    if getattr(user, "is_authenticated", False) and user.role != User.Role.RESIDENT:
        raise JoinRefused(
            _(
                "You are signed in as %(name)s, an agent account. Agents review the party's edits and "
                "cannot also join it as a resident, so nobody ever decides on their own edit. To map, "
                "sign out and join on another device; another agent will review your edits."
            )
            # Shown to the agent alone: their own account name, as they signed in with it.
            % {"name": user.get_username()}
        )


def clean_nickname(raw: str) -> str:
    """The nickname as it will be shown: NFC, trimmed, inner whitespace collapsed; ValidationError if unusable."""
    nickname = unicodedata.normalize("NFC", " ".join((raw or "").split()))
    if any(unicodedata.category(ch).startswith("C") for ch in nickname):
        raise ValidationError(
            _("The nickname contains invisible or control characters."), code="nickname_chars"
        )
    if len(nickname) < NICKNAME_MIN_LENGTH:
        raise ValidationError(
            _("Choose a nickname of at least %(n)d characters.") % {"n": NICKNAME_MIN_LENGTH},
            code="nickname_short",
        )
    if len(nickname) > NICKNAME_MAX_LENGTH:
        raise ValidationError(
            _("Choose a nickname of at most %(n)d characters.") % {"n": NICKNAME_MAX_LENGTH},
            code="nickname_long",
        )
    return nickname


_SPOOF_CHECKER = icu.SpoofChecker()


def _skeleton(text: str) -> str:
    return _SPOOF_CHECKER.getSkeleton(0, text)


def nickname_key(nickname: str) -> str:
    """What two nicknames must not share in one party: they would look the same on the dashboard.

    The UTS #39 confusable skeleton (ICU's, so "Jеan" with a Cyrillic е is "Jean", "rn" is "m") of the
    NFKC case-folded text ("JEAN" is "jean", full-width "Ｊｅａｎ" is "jean"), taken again after folding so
    that a capital look-alike ("I" and "l") folds the same way.
    """
    folded = unicodedata.normalize("NFKC", _skeleton(unicodedata.normalize("NFKC", nickname))).casefold()
    return _skeleton(folded)


def _nickname_clash(party: Party, nickname: str, taken: ValidationError) -> ValidationError | None:
    """Why ``nickname`` cannot be used in ``party`` (taken, or looks like one taken), or None."""
    others = [n for n in User.objects.filter(party=party).values_list("nickname", flat=True) if n]
    if nickname.casefold() in {other.casefold() for other in others}:
        return taken
    key = nickname_key(nickname)
    if any(nickname_key(other) == key for other in others):
        return ValidationError(
            _(
                "A participant of this party already has a nickname that looks the same: "
                "choose one that is clearly different."
            ),
            code="nickname_lookalike",
        )
    return None


def join_party(party: Party, nickname: str, consent: bool, *, now: dt.datetime | None = None) -> User:
    """Create the passwordless resident who joins ``party`` under ``nickname``.

    Preconditions: ``consent`` is the resident's explicit acceptance that contributions are published
    under the open licence (ODbL); the party is joinable now (see ``join_window``). The nickname is
    unique within the party, and so is its look (:func:`nickname_key`: case, width and confusable
    letters aside); the party row is locked while the new resident is checked and saved, so two phones
    choosing look-alike nicknames at once cannot both get them (the case-insensitive database
    constraint backs this up). Raises ValidationError without a field when the party
    is closed, else keyed by field ("nickname", "consent") with every problem at once. The caller
    signs the user in.
    """
    now = now or timezone.now()
    if not is_joinable(party, now):
        opens, _closes = join_window(party)
        if now < opens:
            raise ValidationError(_("This party has not opened yet."), code="party_not_open")
        raise ValidationError(_("This party has ended."), code="party_ended")
    errors: dict[str, ValidationError] = {}
    if not consent:
        errors["consent"] = ValidationError(
            _("You must accept the open licence to take part."), code="consent_required"
        )
    taken = ValidationError(
        _("This nickname is already taken in this party: choose another one."), code="nickname_taken"
    )
    with transaction.atomic():
        Party.objects.select_for_update().filter(pk=party.pk).values_list("pk").first()
        try:
            nickname = clean_nickname(nickname)
        except ValidationError as exc:
            errors["nickname"] = exc
        else:
            clash = _nickname_clash(party, nickname, taken)
            if clash is not None:
                errors["nickname"] = clash
        if errors:
            raise ValidationError(errors)
        return _save_resident(party, nickname, now, taken)


def _save_resident(party: Party, nickname: str, now: dt.datetime, taken: ValidationError) -> User:
    """Save the checked resident; the unique constraint still turns a lost race into "taken"."""
    user = User(
        username=f"r{party.pk}-{secrets.token_hex(8)}",
        role=User.Role.RESIDENT,
        town_id=party.town_id,
        party=party,
        nickname=nickname,
        licence_consent_at=now,
    )
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationError({"nickname": taken}) from exc
    return user


# --- Agents set up parties -------------------------------------------------------------------------

MAX_PARTY_DURATION = dt.timedelta(days=14)
MAX_RATE_LIMIT_PER_MINUTE = 600
GPS_ACCURACY_RANGE = (1, 500)  # metres: a party's threshold of a usable GPS fix
HASHTAG_RE = re.compile(r"^#[\w-]{1,99}$")


@dataclass
class PartyInput:
    """What an agent chooses for a party (a form's or serializer's cleaned data)."""

    title_fr: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    title_en: str = ""
    description_fr: str = ""
    description_en: str = ""
    area: GEOSGeometry | None = None
    use_town_boundary: bool = False
    preset_set: str = DEFAULT_PRESET_SET
    hashtag: str = ""
    rate_limit_per_minute: int = 30
    gps_accuracy_m: int = 20

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PartyInput:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names and v is not None})


# Parties happen now-ish: a date outside these years is a typo (0001 for 2001) or an attack, and the
# calendar's edges break date arithmetic (an hour before year 1) and PostgreSQL's reading back.
PARTY_YEARS = (2000, 2100)


def party_date_error() -> str:
    return _("Choose a date between %(first)s and %(last)s.") % {
        "first": PARTY_YEARS[0],
        "last": PARTY_YEARS[1],
    }


def check_party_dates(starts_at: dt.datetime | None, ends_at: dt.datetime | None) -> None:
    """ValidationError keyed by field for a start or end outside PARTY_YEARS (local time)."""
    errors = {}
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is not None and not PARTY_YEARS[0] <= value.year <= PARTY_YEARS[1]:
            errors[name] = ValidationError(party_date_error(), code="date_out_of_range")
    if errors:
        raise ValidationError(errors)


def default_hashtag(town: Town, starts_at: dt.datetime) -> str:
    """#cartoparty-<town>-<local date>: ties exported changesets to the evening they come from."""
    day = timezone.localtime(starts_at).date().isoformat()
    return f"#cartoparty-{town.slug}-{day}"[:100]


def town_area(town: Town) -> Polygon:
    """The town's boundary as one polygon (the hull when it has several parts); ValidationError if none."""
    if town.boundary is None or town.boundary.empty:
        raise ValidationError(
            {"area": ValidationError(_("This town has no boundary yet: draw the area."), code="no_boundary")}
        )
    boundary = town.boundary
    area = boundary[0].clone() if len(boundary) == 1 else boundary.convex_hull
    # One part of a multipolygon, or the hull of several (polygons with an area): a polygon.
    assert isinstance(area, Polygon)
    area.srid = SRID
    return area


def _clean_party(town: Town, data: PartyInput) -> dict[str, Any]:
    """Check an agent's choices against the party rules; the model fields to save, or ValidationError."""
    errors: dict[str, list[ValidationError]] = {}

    def fail(field: str, message: str, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    title_fr, title_en = data.title_fr.strip(), data.title_en.strip()
    if not title_fr:
        fail("title_fr", _("Give the party a French title."), "title_required")
    try:
        check_party_dates(data.starts_at, data.ends_at)
    except ValidationError as exc:
        for name, errs in exc.error_dict.items():
            errors.setdefault(name, []).extend(errs)
    dates_usable = not (errors.get("starts_at") or errors.get("ends_at"))  # for a duration, a hashtag
    if dates_usable and data.ends_at <= data.starts_at:
        fail("ends_at", _("The party must end after it starts."), "ends_before_start")
    elif dates_usable and data.ends_at - data.starts_at > MAX_PARTY_DURATION:
        fail(
            "ends_at",
            _("A party lasts at most %(days)d days.") % {"days": MAX_PARTY_DURATION.days},
            "too_long",
        )
    area: GEOSGeometry | None = None
    if data.use_town_boundary:
        try:
            area = town_area(town)
        except ValidationError as exc:
            errors.setdefault("use_town_boundary", []).extend(exc.error_dict["area"])
    elif data.area is None or data.area.empty:
        fail("area", _("Draw the party's area on the map, or use the town's boundary."), "area_required")
    else:
        area = data.area
        if area.srid is None:
            area.srid = SRID
        elif area.srid != SRID:
            area = area.transform(SRID, clone=True)
        if area.geom_type != "Polygon":
            fail("area", _("The area must be one polygon."), "area_not_polygon")
            area = None
        elif not area.valid:
            fail("area", _("The area crosses itself: redraw it."), "area_invalid")
            area = None
        elif town.boundary is not None and not area.intersects(town.boundary):
            fail("area", _("The area is outside the town."), "area_outside_town")
    if data.preset_set not in dict(preset_set_choices()):
        fail("preset_set", _("Choose one of the offered preset sets."), "preset_set_unknown")
    hashtag = (data.hashtag or "").strip()
    if not hashtag and dates_usable:
        hashtag = default_hashtag(town, data.starts_at)
    if hashtag and not hashtag.startswith("#"):
        hashtag = "#" + hashtag
    if hashtag and not HASHTAG_RE.match(hashtag):
        fail(
            "hashtag", _("A hashtag is # followed by letters, digits, - or _ (no spaces)."), "hashtag_invalid"
        )
    if not 1 <= data.rate_limit_per_minute <= MAX_RATE_LIMIT_PER_MINUTE:
        fail(
            "rate_limit_per_minute",
            _("Choose between 1 and %(max)d edits per minute.") % {"max": MAX_RATE_LIMIT_PER_MINUTE},
            "rate_limit_range",
        )
    if not GPS_ACCURACY_RANGE[0] <= data.gps_accuracy_m <= GPS_ACCURACY_RANGE[1]:
        fail(
            "gps_accuracy_m",
            _("Choose between %(min)d and %(max)d metres.")
            % {"min": GPS_ACCURACY_RANGE[0], "max": GPS_ACCURACY_RANGE[1]},
            "gps_accuracy_range",
        )
    if errors:
        raise ValidationError(errors)
    return {
        "title_fr": title_fr,
        "title_en": title_en,
        "description_fr": data.description_fr.strip(),
        "description_en": data.description_en.strip(),
        "area": area,
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "preset_set": data.preset_set,
        "hashtag": hashtag,
        "rate_limit_per_minute": data.rate_limit_per_minute,
        "gps_accuracy_m": data.gps_accuracy_m,
    }


def create_party(agent: User, data: PartyInput) -> Party:
    """Create a party in the agent's own town (the town always comes from the agent, never the input).

    Preconditions: ``agent`` is an agent of a town (PermissionDenied otherwise). Raises ValidationError
    keyed by field when a rule is broken: nothing is saved.
    """
    # An agent is bound to a town (is_agent checks it); the second test says so to mypy.
    if not permissions.is_agent(agent) or agent.town is None:
        raise PermissionDenied
    town = agent.town
    return Party.objects.create(town=town, created_by=agent, **_clean_party(town, data))


def update_party(agent: User, party: Party, data: PartyInput) -> Party:
    """Change a party of the agent's town; same rules as ``create_party``. The join code never changes,
    so printed posters keep working."""
    if not permissions.can_manage_party(agent, party):
        raise PermissionDenied
    for name, value in _clean_party(party.town, data).items():
        setattr(party, name, value)
    party.save()
    return party


def set_public_name(agent: User, raw: str) -> User:
    """Set the name ``agent`` is credited under publicly (same rules as a nickname); "" clears it.

    Raises ValidationError (keyed "nickname") when the name is unusable; nothing is saved then.
    """
    name = clean_nickname(raw) if (raw or "").strip() else ""
    agent.nickname = name
    agent.save(update_fields=["nickname"])
    return agent


def create_agent(username: str, town: Town, password: str) -> User:
    """Create an agent account of ``town``. The password must pass the project's validators.

    Raises ValidationError (password too weak, username taken). Agents are the only accounts with a
    password; residents never get one.
    """
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(_("This username is already taken."), code="username_taken")
    user = User(username=username, role=User.Role.AGENT, town=town)
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save()
    return user
