"""bench/load.py --trace: the load tool's times joined with the workers' by request id."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import load  # noqa: E402 (bench/ is not a package: found once it is on the path above)

sys.path.remove(str(BENCH))


def test_each_request_is_split_into_load_tool_queue_application_and_gc(tmp_path):
    # Worker 11: request 1 written at t=100.0, taken by a thread at 100.2, answered at 100.5, during
    # which a collection ran 100.3-100.4; worker 12: request 2, never in a collection.
    (tmp_path / "11.tsv").write_text(
        "gc\t100.3\t0.1\t2\t0.09\n"
        "req\t1\t100.0\t100.2\t100.5\t3\t0\t201\t0.012\tedit\n"
        "gc\t90.0\t0.05\t0\t0.05\n"  # before the round: no overlap
    )
    (tmp_path / "12.tsv").write_text("req\t2\t200.0\t200.01\t200.03\t1\t0\t200\t0.002\ttile\n")
    client = [(1, "writes", 99.9, 100.6, 201), (2, "reads", 200.0, 200.04, 200), (3, "reads", 1.0, 2.0, 200)]
    gc = load.ClientGC()
    trace = load.analyse_trace(client, tmp_path, [0.001], gc)
    first, second = sorted(trace["rows"], key=lambda r: r["total"], reverse=True)
    assert first["bucket"] == "writes" and first["kind"] == "edit"
    assert round(first["before"], 3) == 0.1  # in the load tool, before it was written
    assert round(first["queue"], 3) == 0.2  # written -> a thread took it
    assert round(first["app"], 3) == 0.3
    assert round(first["after"], 3) == 0.1
    assert round(first["gc"], 3) == 0.1  # the collection inside its time in the server
    assert first["app_cpu"] == 0.012 and first["busy"] == 3
    assert second["gc"] == 0.0 and second["kind"] == "tile"
    assert len(trace["rows"]) == 2  # request 3 never reached a worker's trace
    assert trace["per_worker"] == {"11": 1, "12": 1}
    assert sorted(g for g, _, _ in trace["gc"]) == [0, 2]
