"""Is the worker running a job still alive? A PostgreSQL advisory lock says so, promptly.

The worker takes a session-level advisory lock keyed by the job's id before marking it running and
holds it until the job ends (:func:`held`). If the worker process is killed (OOM, SIGKILL, a
machine restart), its database session ends and PostgreSQL releases the lock at once. Anyone can
then tell a lost job from a slow one without a heartbeat table or a timeout: a running job whose
lock can be taken has no worker (:func:`worker_gone`). What to do with a lost job (mark it failed,
remove what its kind left behind) is exports.jobs' business: this module knows only the lock, so it
knows nothing of exports or prints.

Precondition: no transaction-pooling proxy (pgbouncer in transaction mode) between Django and
PostgreSQL, since session locks need the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

LOCK_CLASS = 0x4A4F42  # "JOB": the first key of the two-key advisory lock, the job id the second


@contextmanager
def held(job_id: int) -> Iterator[None]:
    """Hold the job's liveness lock on this process's database session for the block."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, job_id])
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, job_id])


def worker_gone(job_id: int) -> bool:
    """True when no process holds the job's lock (taking it for an instant tells)."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, job_id])
        (free,) = cur.fetchone()
        if free:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, job_id])
    return bool(free)
