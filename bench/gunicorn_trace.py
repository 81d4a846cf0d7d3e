"""gunicorn hooks for ``bench/load.py --trace``: where each request spent its time in the server.

Loaded with ``gunicorn -c bench/gunicorn_trace.py`` on top of the bench's command line. Every
worker writes one line per request to ``$BENCH_TRACE_DIR/<pid>.tsv``::

    req <X-Bench-Id> <X-Request-Start> <thread took it> <answer done> <busy threads> <queued> <status>
        <thread CPU seconds> <kind>

and one line per garbage collection: ``gc <start> <seconds> <generation> <CPU seconds>``. Times
are epoch seconds; the client stamps X-Request-Start when it writes the request to the socket.
The thread's own CPU time tells work from waiting (for the GIL, the database or a core); ``queued``
is the worker's thread-pool queue (connections with a request ready, waiting for a thread). The
bench joins these lines with its own times by request id.
"""

from __future__ import annotations

import gc
import os
import threading
import time

_state: dict = {}


def post_fork(server, worker) -> None:
    directory = os.environ["BENCH_TRACE_DIR"]
    out = open(os.path.join(directory, f"{os.getpid()}.tsv"), "a", buffering=1)  # noqa: SIM115 (kept open for the worker's life, one line per request)
    lock = threading.Lock()
    _state.update(out=out, lock=lock, busy=0, gc_start=(0.0, 0.0), gc_lines=[])

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            _state["gc_start"] = (time.perf_counter(), time.thread_time())
            return
        took = time.perf_counter() - _state["gc_start"][0]
        cpu = time.thread_time() - _state["gc_start"][1]
        # Kept, written with the next request's line: a collection can start inside a write to
        # the file, and the file refuses to be written to from within its own write.
        _state["gc_lines"].append(
            f"gc\t{time.time() - took:.6f}\t{took:.6f}\t{info['generation']}\t{cpu:.6f}\n"
        )

    _state["on_gc"] = on_gc
    gc.callbacks.append(on_gc)


def _header(req, name: str) -> str:
    for key, value in req.headers:
        if key == name:
            return value
    return ""


def _kind(path: str) -> str:
    if "/features/tiles/" in path:
        return "tile"
    if "/features/" in path:
        return "pending"
    if "/edits/" in path:
        return "edit"
    return "other"


def pre_request(worker, req) -> None:
    req._bench_t0 = time.time()
    req._bench_cpu = time.thread_time()
    with _state["lock"]:
        _state["busy"] += 1
        req._bench_busy = _state["busy"]
    tpool = getattr(worker, "tpool", None)
    req._bench_queued = tpool._work_queue.qsize() if tpool is not None else -1


def post_request(worker, req, environ, resp) -> None:
    done = time.time()
    cpu = time.thread_time() - req._bench_cpu
    with _state["lock"]:
        _state["busy"] -= 1
    start = _header(req, "X-REQUEST-START").removeprefix("t=") or "0"
    collections, _state["gc_lines"] = _state["gc_lines"], []
    _state["out"].write(
        "".join(collections)
        + f"req\t{_header(req, 'X-BENCH-ID') or '-'}\t{start}\t{req._bench_t0:.6f}\t{done:.6f}\t"
        f"{req._bench_busy}\t{req._bench_queued}\t{getattr(resp, 'status_code', 0)}\t{cpu:.6f}\t"
        f"{_kind(req.path)}\n"
    )


def worker_exit(server, worker) -> None:
    if "out" in _state:
        gc.callbacks.remove(_state["on_gc"])
        _state["out"].close()
