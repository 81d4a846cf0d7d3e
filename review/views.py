"""Thin HTML views for review (agents) and contributions (residents).

Every review lookup starts from :func:`review.services.revisions_for_reviewer` (the agent's own town):
another town's revision is a 404, and so is any revision for someone who is not an agent.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import ServiceError
from core.http import service_errors
from mapping import junctions, quality
from mapping.history import describe, outcome_label, tag_diff
from mapping.models import Revision
from mapping.services import SIDES
from mapping.store import Conflict
from parties import presets
from parties.access import AuthenticatedHttpRequest, agent_required, agent_town
from review import services as review
from review.selectors import (
    QueueFilters,
    contributions_for,
    neighbours,
    queue_counts,
    queue_for_town,
    reason_label,
    revision_map_data,
)

PAGE_SIZE = 50


def localized_flags(flags: list[dict]) -> list[dict]:
    """Flags with ``message`` (both languages are stored), ``label`` and ``severity_label`` in the
    current language: pages show these, never the codes."""
    lang = (get_language() or "en")[:2]
    return [
        {
            **f,
            "message": f.get(f"message_{lang}") or f.get("message_en", ""),
            "label": quality.flag_label(f.get("code", "")),
            "severity_label": str(quality.SEVERITIES.get(f.get("severity", ""), "")),
        }
        for f in flags or []
    ]


def _filter_options(counts: dict) -> dict:
    """The preset and flag filters' options, named in the reader's language (the values stay codes)."""
    return {
        "preset": [{**p, "name": presets.preset_name(p["value"])} for p in counts["preset"]],
        "flag": [{**f, "label": quality.flag_label(f["code"])} for f in counts["flag"]],
    }


def _queue_page(
    request: HttpRequest, filters: QueueFilters, *, error: str = "", status: int = 200
) -> HttpResponse:
    town = agent_town(request)
    page = Paginator(queue_for_town(town, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = queue_counts(town, filters)
    for rev in page.object_list:
        rev.localized_flags = localized_flags(rev.flags)
        describe(rev)
    context = {
        "town": town,
        "filters": filters,
        "query": filters.as_query(),
        "counts": counts,
        "options": _filter_options(counts),
        "page": page,
        "reasons": review.REASONS,
        "error": error,
    }
    return render(request, "review/review_queue.html", context, status=status)


@require_GET
@agent_required
def review_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The town's queue, filterable by party, contributor, preset, flag and status, with counts."""
    return _queue_page(request, QueueFilters.from_query(request.GET))


@require_GET
@agent_required
def review_revision(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One revision: before/after map, tag diff, contributor, flags, decisions and the actions."""
    rev = get_object_or_404(
        review.revisions_for_reviewer(request.user).select_related("author", "party"), pk=pk
    )
    filters = QueueFilters.from_query(request.GET)
    prev_id, next_id = neighbours(rev.town, rev, filters)
    query = filters.as_query()
    published = review.applied_payload(rev) if rev.status == Revision.Status.ACCEPTED else rev.after
    flags = localized_flags(rev.flags)
    describe(rev)
    state = review.outdated(rev)
    # The fix form starts from what accepting would publish: the merge when a newer version exists.
    after_tags = (
        state.merge.merged if state and state.merge and state.merge.merged else rev.after or {}
    ).get("tags") or {}
    context = {
        "rev": rev,
        "query": query,
        "prev_url": f"{reverse('review:review-revision', args=[prev_id])}?{query}" if prev_id else "",
        "next_url": f"{reverse('review:review-revision', args=[next_id])}?{query}" if next_id else "",
        "queue_url": f"{reverse('review:review-queue')}?{query}",
        "diff": tag_diff(rev.before, published),
        "map_data": revision_map_data(rev, published),
        "flags": flags,
        "decisions": rev.decisions.select_related("reviewer", "successor"),
        "reasons": review.REASONS,
        "can_decide": rev.status in review.DECIDABLE and rev.author_id != request.user.pk,
        "own_edit": rev.author_id == request.user.pk,
        "can_revert": rev.status == Revision.Status.ACCEPTED,
        "can_fix": rev.status in review.DECIDABLE and rev.action != Revision.Action.DELETE,
        "fix_tags": "\n".join(f"{k}={v}" for k, v in sorted(after_tags.items())),
        "repaired": quality.repaired_geometry(rev.flags or []) is not None,
        "outdated": state,
        "merge_rows": merge_rows(state),
        "photos": list(rev.photos.all()),
        # iD's connectivity warnings, as the resident saw them before saving (pending edits only).
        "warnings": junctions.warnings_for(rev.town_id, rev.element_type, rev.after, rev.element_id)
        if rev.status in review.DECIDABLE
        else [],
    }
    return render(request, "review/review_revision.html", context)


def merge_rows(state: review.Outdated | None) -> list[dict[str, Any]]:
    """The three-way table: every key either side changed, with base, published, this edit and result."""
    if state is None or state.merge is None:
        return []
    m = state.merge
    sides = [(m.base.get("tags") or {}), (m.theirs.get("tags") or {}), (m.mine.get("tags") or {})]
    rows = []
    for key in sorted(set().union(*sides)):
        base, theirs, mine = (side.get(key) for side in sides)
        if base == theirs == mine:
            continue
        rows.append(
            {
                "key": key,
                "base": base,
                "theirs": theirs,
                "mine": mine,
                "result": m.merged["tags"].get(key),
                "conflict": key in m.keys,
            }
        )
    return rows


def parse_choices(post: QueryDict) -> dict[str, Any]:
    """The agent's picks from the three-way table (``choice:<key>`` and ``choice-geometry`` fields)."""
    tags = {
        name.removeprefix("choice:"): value
        for name, value in post.items()
        if name.startswith("choice:") and value in SIDES
    }
    choices: dict[str, Any] = {"tags": tags}
    if post.get("choice-geometry") in ("theirs", "mine"):
        choices["geometry"] = post["choice-geometry"]
    return choices


COMMENT_MAX_LENGTH = 2000  # as the review API's DecisionSerializer


def comment_too_long(comment: str) -> str:
    """The message when a reviewer's comment is over the limit (the form says it before sending too)."""
    if len(comment) <= COMMENT_MAX_LENGTH:
        return ""
    return _("The comment is too long: at most %(max)s characters (it has %(count)s).") % {
        "max": COMMENT_MAX_LENGTH,
        "count": len(comment),
    }


def parse_tags_text(text: str) -> dict[str, str]:
    """``key=value`` lines (as the fix form sends them) into tags; a line without ``=`` is an error."""
    tags: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise review.ReviewError(_("Line %(n)s: write key=value.") % {"n": number})
        tags[key.strip()] = value.strip()
    return tags


def fixed_payload(rev: Revision, tags_text: str, use_repaired: bool) -> dict:
    """The agent's amended payload: the proposal with the edited tags (and the repaired shape)."""
    after = dict(rev.after or {})
    after["tags"] = parse_tags_text(tags_text)
    if use_repaired:
        repaired = quality.repaired_payload(after, rev.flags or [])
        if repaired is None:
            raise review.ReviewError(_("No repaired shape is offered for this revision."))
        after = repaired
    return after


def _decision_refused(request: HttpRequest, exc: ServiceError, pk: int) -> HttpResponse:
    """How a refused decision shows: one that lost a race (409) shows the refreshed queue with the
    reason; anything else (a merge to choose, a feature deleted since, not allowed, invalid) is a
    message on the revision page, which shows the three-way choice or why it can only be rejected."""
    filters = QueueFilters.from_query(QueryDict(request.POST.get("queue", "")))
    if isinstance(exc, Conflict) and not isinstance(exc, (review.MergeConflict, review.FeatureGone)):
        return _queue_page(request, filters, error=str(exc), status=409)
    messages.error(request, str(exc))
    return redirect(f"{reverse('review:review-revision', args=[pk])}?{filters.as_query()}")


@require_POST
@agent_required
@service_errors(_decision_refused)
def review_decide(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Accept, reject, request changes, fix then accept, or revert; then on to the next in the queue.

    A decision that lost a race (409) shows the refreshed queue with the reason.
    """
    rev = get_object_or_404(review.revisions_for_reviewer(request.user), pk=pk)
    filters = QueueFilters.from_query(QueryDict(request.POST.get("queue", "")))
    query = filters.as_query()
    _prev, next_id = neighbours(rev.town, rev, filters)
    action = request.POST.get("action", "")
    code, comment = request.POST.get("reason_code", ""), request.POST.get("comment", "")
    user = request.user
    choices = parse_choices(request.POST)
    if too_long := comment_too_long(comment):
        messages.error(request, too_long)
        return redirect(f"{reverse('review:review-revision', args=[rev.pk])}?{query}")
    if action == "accept":
        merged = review.accept_revision(rev, user, choices).amended_after is not None
        done = (
            _("Revision #%(id)s merged with the newer version and published.")
            if merged
            else _("Revision #%(id)s accepted and published.")
        )
    elif action == "reject":
        review.reject_revision(rev, user, comment, code)
        done = _("Revision #%(id)s rejected.")
    elif action == "request_changes":
        review.request_changes(rev, user, comment, code)
        done = _("Changes requested on revision #%(id)s.")
    elif action == "fix":
        after = fixed_payload(rev, request.POST.get("tags", ""), bool(request.POST.get("use_repaired")))
        review.fix_and_accept(rev, user, after, choices)
        done = _("Revision #%(id)s fixed and accepted.")
    elif action == "revert":
        review.revert_revision(rev, user, comment)
        done = _("Revision #%(id)s reverted.")
    else:
        return HttpResponse(_("Unknown action."), status=400, content_type="text/plain")
    messages.success(request, done % {"id": rev.pk})
    if action != "revert" and next_id:
        return redirect(f"{reverse('review:review-revision', args=[next_id])}?{query}")
    return redirect(f"{reverse('review:review-queue')}?{query}")


def _bulk_refused(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    """A refused bulk decision (a reason missing...) is a message on the queue."""
    messages.error(request, str(exc))
    filters = QueueFilters.from_query(QueryDict(request.POST.get("queue", "")))
    return redirect(f"{reverse('review:review-queue')}?{filters.as_query()}")


@require_POST
@agent_required
@service_errors(_bulk_refused)
def review_bulk(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Bulk accept or reject: the ticked revisions, one contributor's or a whole party's pending edits."""
    filters = QueueFilters.from_query(QueryDict(request.POST.get("queue", "")))
    town = agent_town(request)
    op = request.POST.get("op", "")
    action, _sep, scope = op.partition(":")
    selection: dict[str, Any] = {}
    if too_long := comment_too_long(request.POST.get("comment", "")):
        messages.error(request, too_long)
        return redirect(f"{reverse('review:review-queue')}?{filters.as_query()}")
    if scope == "selection":
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
        if not ids:
            messages.error(request, _("Tick the revisions to decide first."))
            return redirect(f"{reverse('review:review-queue')}?{filters.as_query()}")
        selection["ids"] = ids
    elif scope == "author" and filters.author is not None:
        selection["author"] = filters.author
    elif scope == "party" and filters.party is not None:
        selection["party"] = filters.party
    else:
        return HttpResponse(_("Unknown selection."), status=400, content_type="text/plain")
    if action == "accept":
        result = review.bulk_accept(town, request.user, **selection)
    elif action == "reject":
        result = review.bulk_reject(
            town,
            request.user,
            request.POST.get("comment", ""),
            reason_code=request.POST.get("reason_code", ""),
            **selection,
        )
    else:
        return HttpResponse(_("Unknown action."), status=400, content_type="text/plain")
    messages.success(
        request,
        _(
            "%(decided)s decided (%(merged)s merged with a newer version), %(conflicts)s left pending "
            "(to choose on their page), %(skipped)s skipped (your own)."
        )
        % {
            "decided": len(result.decided),
            "merged": len(result.merged),
            "conflicts": len(result.conflicts),
            "skipped": len(result.skipped),
        },
    )
    for pk, reason in list(result.conflicts.items())[:10]:
        url = f"{reverse('review:review-revision', args=[pk])}?{filters.as_query()}"
        messages.warning(request, format_html('<a href="{}">#{}</a>: {}', url, pk, reason))
    return redirect(f"{reverse('review:review-queue')}?{filters.as_query()}")


@require_GET
@login_required
def my_contributions(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A resident's contributions: status and the reviewer's reason, in the resident's language."""
    revisions = list(contributions_for(request.user).prefetch_related("photos")[:500])
    for rev in revisions:
        rev.reason_label = reason_label(rev.reason_code)
        describe(rev)
        rev.outcome = outcome_label(rev)
    return render(request, "review/review_contributions.html", {"revisions": revisions})
