"""Template tags for pages of other apps that show revisions: the parties dashboard names review
statuses in the reader's language without parties importing mapping (docs/architecture.md)."""

from __future__ import annotations

from django import template

from mapping.models import Revision

register = template.Library()


@register.simple_tag
def revision_status_labels() -> dict[str, str]:
    """Each review status and its label in the current language, e.g. ``{"pending": "en attente"}``."""
    return {value: str(label) for value, label in Revision.Status.choices}
