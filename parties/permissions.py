"""Who may see or manage what: the one home for role rules.

Agents manage the parties of their own town only; residents see the one party they joined. Views and
API views ask these functions; lookups that must not leak another town's data go through
``parties.selectors`` (which answers 404 rather than 403 for another town's objects).
"""

from __future__ import annotations

from typing import Any

from parties.models import Party, Town, User


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_agent_of(user: Any, town: Town) -> bool:
    """True for an active agent account of ``town``."""
    return _active(user) and user.role == User.Role.AGENT and user.town_id == town.pk


def is_agent(user: Any) -> bool:
    """True for an active agent account bound to some town."""
    return _active(user) and user.role == User.Role.AGENT and user.town_id is not None


def is_resident_of(user: Any, party: Party) -> bool:
    """True for an active resident who joined ``party``."""
    return _active(user) and user.role == User.Role.RESIDENT and user.party_id == party.pk


def can_manage_party(user: Any, party: Party) -> bool:
    """Agents of the party's town create, edit and follow it."""
    return is_agent_of(user, party.town)


def can_view_party(user: Any, party: Party) -> bool:
    """The party's residents and its town's agents may open its map."""
    return is_resident_of(user, party) or can_manage_party(user, party)
