"""Business rules for towns' parties and the residents who join them."""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parties.models import Party, User

# Residents may join this long before the start, so they can settle in while the agent explains.
JOIN_OPENS_BEFORE = dt.timedelta(hours=1)
NICKNAME_MIN_LENGTH = 2
NICKNAME_MAX_LENGTH = 40


def join_window(party: Party) -> tuple[dt.datetime, dt.datetime]:
    """When residents may join ``party``: from a little before its start until its end."""
    return party.starts_at - JOIN_OPENS_BEFORE, party.ends_at


def is_joinable(party: Party, now: dt.datetime | None = None) -> bool:
    """True while the join link works."""
    opens, closes = join_window(party)
    now = now or timezone.now()
    return opens <= now < closes


def clean_nickname(raw: str) -> str:
    """The nickname as it will be shown: trimmed, inner whitespace collapsed; ValidationError if unusable."""
    nickname = " ".join((raw or "").split())
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


def join_party(party: Party, nickname: str, consent: bool, *, now: dt.datetime | None = None) -> User:
    """Create the passwordless resident who joins ``party`` under ``nickname``.

    Preconditions: ``consent`` is the resident's explicit acceptance that contributions are published
    under the open licence (ODbL); the party is joinable now (see ``join_window``). The nickname is
    unique within the party, case-insensitively; the database constraint settles a race between two
    phones choosing the same nickname at once. Raises ValidationError without a field when the party
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
    try:
        nickname = clean_nickname(nickname)
    except ValidationError as exc:
        errors["nickname"] = exc
    else:
        if User.objects.filter(party=party, nickname__iexact=nickname).exists():
            errors["nickname"] = taken
    if errors:
        raise ValidationError(errors)
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
