"""bench/machine.py's Targets and summary, and bench/run.py's verdict over every benchmark: what
`make bench` prints and exits with (no timing is measured here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import machine  # noqa: E402 - bench/ is not a package: importable once on sys.path above
import run  # noqa: E402 - as machine

sys.path.remove(str(BENCH))


def watch(idle_before=0.97, foreign=0.02):
    return machine.MachineWatch(idle_before, (0.42, 0.3, 0.2), 2, foreign_share=foreign, load_after=(1, 1, 1))


def test_each_target_prints_met_or_not_met_and_becomes_a_summary_row(capsys):
    targets = machine.Targets("exports", watch())
    assert targets.check("demo: PBF vs osmium cat", 1.25, 0.8, "x", at_most=False,
                         ours="0.13 s (0.12-0.15)", reference="0.16 s (0.16-0.17)")  # fmt: skip
    assert not targets.check("1M: PBF, time", 12.5, 10, "s")
    assert capsys.readouterr().out.splitlines() == [
        "demo: PBF vs osmium cat: 1.25x (target >= 0.8x): met",
        "1M: PBF, time: 12.5 s (target <= 10 s): NOT met",
    ]
    ratio, time = targets.outcomes
    assert ratio.cells()[:7] == ["exports", "demo: PBF vs osmium cat", "0.13 s (0.12-0.15)", "0.16 s (0.16-0.17)",
                                 "1.25x", ">= 0.8x", "met"]  # fmt: skip
    assert time.cells()[:7] == ["exports", "1M: PBF, time", "12.5 s", "", "", "<= 10 s", "NOT met"]


@pytest.mark.parametrize(
    ("idle_before", "foreign", "met", "status", "state"),
    [
        (0.97, 0.02, True, 0, "quiet (idle 97%, load 0.42, others 2%)"),
        (0.97, 0.02, False, 1, "quiet (idle 97%, load 0.42, others 2%)"),
        (0.50, 0.02, False, 2, "BUSY (idle 50%, load 0.42, others 2%)"),
        (0.97, 0.30, True, 0, "BUSY (idle 97%, load 0.42, others 30%)"),
    ],
)
def test_finish_flags_a_busy_machine_records_the_rows_and_gives_the_exit_status(
    tmp_path, monkeypatch, capsys, idle_before, foreign, met, status, state
):
    summary = tmp_path / "targets.jsonl"
    monkeypatch.setenv(machine.SUMMARY_ENV, str(summary))
    targets = machine.Targets("review", watch(idle_before, foreign))
    targets.check("bulk accept", 1.0 if met else 9.0, 5, "s")
    assert targets.finish() == status
    out = capsys.readouterr().out
    assert ("BUSY MACHINE: figures not valid" in out) is state.startswith("BUSY")
    assert f"review: {int(met)} of 1 targets met" in out
    (row,) = machine.read_outcomes(summary)
    assert (row.bench, row.met, row.machine) == ("review", met, state)


def test_without_a_summary_file_nothing_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(machine.SUMMARY_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    targets = machine.Targets("printing", watch())
    targets.check("print / plain render", 1.1, 1.5, "x")
    assert targets.finish() == 0
    assert list(tmp_path.iterdir()) == []
    assert machine.read_outcomes(tmp_path / "absent.jsonl") == []


def outcome(bench, met, machine_state="quiet (idle 97%, load 0.42, others 2%)"):
    return machine.Outcome(bench, "case", "1 s", "", "", "<= 2 s", met, machine_state)


def test_summary_table_has_one_row_per_target_of_every_benchmark():
    lines = machine.summary_table([outcome("import", True), outcome("exports", False)]).splitlines()
    assert [c.strip() for c in lines[0].strip("|").split("|")] == [
        "bench", "case", "ours", "reference", "ratio", "target", "result", "machine",
    ]  # fmt: skip
    assert lines[1].startswith("|---")
    assert [c.strip() for c in lines[2].strip("|").split("|")][0::6] == ["import", "met"]
    assert [c.strip() for c in lines[3].strip("|").split("|")][0::6] == ["exports", "NOT met"]
    assert len({len(line) for line in lines}) == 1  # columns aligned


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ([outcome("a", True), outcome("b", True)], 0),
        ([outcome("a", True), outcome("b", False)], 1),  # a real miss
        ([outcome("a", False, "BUSY (idle 40%, load 5.00)"), outcome("b", True)], 2),  # no result
        ([outcome("a", False, "BUSY (idle 40%, load 5.00)"), outcome("b", False)], 1),
        ([], 0),
    ],
)
def test_make_bench_exits_non_zero_when_a_target_is_not_met(outcomes, status):
    assert run.run_status(outcomes) == status


def test_a_benchmark_that_fails_before_judging_gets_a_not_met_row():
    row = run.failed_run("printing", 3, watch())
    assert (row.bench, row.ours, row.met) == ("printing", "exit 3", False)
    assert run.run_status([row]) == 1


def test_run_collects_every_benchmarks_rows_into_one_table(tmp_path, monkeypatch, capsys):
    """bench/run.py end to end with two stand-in benchmarks: one met, one that crashes."""
    (tmp_path / "good.py").write_text(
        "import os, json\n"
        f"row = {outcome('good', True).__dict__!r}\n"
        f"open(os.environ[{machine.SUMMARY_ENV!r}], 'a').write(json.dumps(row) + '\\n')\n"
    )
    (tmp_path / "bad.py").write_text("raise SystemExit(3)\n")
    monkeypatch.setattr(run, "BENCH", tmp_path)
    monkeypatch.setattr(run, "PYTHON", sys.executable)
    monkeypatch.setattr(run, "BENCHMARKS", {"good": "good.py", "bad": "bad.py"})
    # A quiet machine whatever this one is doing: the verdict, not the measuring, is under test.
    monkeypatch.setattr(run.MachineWatch, "before_run", classmethod(lambda cls, seconds: watch()))
    monkeypatch.setattr(run.MachineWatch, "after_run", lambda self: None)
    monkeypatch.setattr(sys, "argv", ["run.py"])
    assert run.main() == 1
    out = capsys.readouterr().out
    table = out[out.index("| bench") :].splitlines()
    assert [line.split("|")[1].strip() for line in table[2:4]] == ["good", "bad"]
    assert "NOT met" in table[3] and "exit 3" in table[3]
    assert "1 of 2 targets met" in out
