"""Job handlers of the exports app (registered with exports.jobs; imported in ExportsConfig.ready)."""

from __future__ import annotations

from pathlib import Path

from exports.jobs import Progress, register
from exports.models import Job
from exports.services import build_cached, scope_from_params


@register(Job.Kind.EXPORT)
def export_handler(job: Job, progress: Progress) -> Path:
    """Build an export into the cache; the temporary file is removed by build_cached on failure."""
    params = job.params
    return build_cached(job.town, params["format"], scope_from_params(params), progress)
