"""Job handlers of the exports app (registered with exports.jobs; imported when an export job first
runs or is found lost, through exports.jobs.HANDLER_MODULES)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from django.conf import settings

from exports.jobs import Progress, register, register_leftovers
from exports.models import Job
from exports.services import build_cached, scope_from_params


@register(Job.Kind.EXPORT)
def export_handler(job: Job, progress: Progress) -> Path:
    """Build an export into the cache; the temporary file is removed by build_cached on failure."""
    params = job.params
    return build_cached(job.town, params["format"], scope_from_params(params), progress)


@register_leftovers(Job.Kind.EXPORT)
def remove_abandoned_builds(job: Job) -> None:
    """A killed export's abandoned ``.build-*`` directories: those nobody has written to lately, since
    a live build of another job may share the town's directory."""
    root = Path(settings.CARTOPARTY_EXPORT_DIR) / job.town.slug
    for work in root.glob("*/.build-*") if root.exists() else ():
        newest = max([p.stat().st_mtime for p in work.rglob("*")] + [work.stat().st_mtime])
        if time.time() - newest >= settings.CARTOPARTY_STALE_BUILD_SECONDS:
            shutil.rmtree(work, ignore_errors=True)
