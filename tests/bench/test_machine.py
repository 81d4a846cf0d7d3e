"""bench/machine.py: the machine-state and spread helpers every benchmark reports with."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "bench_machine", Path(__file__).resolve().parents[2] / "bench" / "machine.py"
)
machine = importlib.util.module_from_spec(_spec)
sys.modules["bench_machine"] = machine  # dataclasses look their module up
_spec.loader.exec_module(machine)

# user nice system idle iowait irq softirq steal guest guest_nice
STAT = "cpu  100 5 45 800 50 0 0 0 7 0\ncpu0 50 2 20 400 25 0 0 0 3 0\n"


def test_cpu_times_counts_iowait_as_idle_and_leaves_out_guest_time():
    assert machine.cpu_times(STAT) == (850, 1000)


def test_idle_between_two_samples():
    assert machine.idle_between((850, 1000), (940, 1200)) == pytest.approx(90 / 200)
    assert machine.idle_between((850, 1000), (850, 1000)) == 1.0  # no tick elapsed: nothing ran


def test_idle_share_and_load_average_read_this_machine():
    share = machine.idle_share(0.05)
    assert 0.0 <= share <= 1.0
    assert len(machine.load_average()) == 3


def test_summarize_gives_median_and_range():
    spread = machine.summarize([57, 38, 41])
    assert (spread.median, spread.min, spread.max) == (41, 38, 57)
    assert str(spread) == "41 (38-57)"
    assert machine.summarize([12.34, 12.5]).format(1) == "12.4 (12.3-12.5)"
    assert str(machine.summarize([7])) == "7"  # one round: no range to show
    with pytest.raises(ValueError):
        machine.summarize([])


def test_verdict_prints_met_or_not_met(capsys):
    assert machine.verdict("writes p95", 41, 300, "ms") is True
    assert machine.verdict("reads p95", 690, 200, "ms") is False
    assert machine.verdict("edits/s", 192, 200, at_most=False) is False
    assert capsys.readouterr().out.splitlines() == [
        "writes p95: 41 ms (target <= 300 ms): met",
        "reads p95: 690 ms (target <= 200 ms): NOT met",
        "edits/s: 192 (target >= 200): NOT met",
    ]


def test_exit_status_fails_only_a_quiet_machine():
    assert machine.exit_status(True, busy=False) == 0
    assert machine.exit_status(True, busy=True) == 0
    assert machine.exit_status(False, busy=False) == 1
    assert machine.exit_status(False, busy=True) == 2


@pytest.mark.parametrize(
    ("idle_before", "foreign", "busy"),
    [(0.97, 0.02, False), (0.40, 0.02, True), (0.97, 0.35, True), (0.97, None, False)],
)
def test_a_machine_not_idle_before_or_shared_during_the_run_is_busy(idle_before, foreign, busy):
    watch = machine.MachineWatch(idle_before, (0.5, 0.4, 0.3), 2, foreign_share=foreign, load_after=(1, 1, 1))
    assert watch.busy is busy
    report = watch.report()
    assert ("BUSY MACHINE: figures not valid" in report) is busy
    assert ("quiet machine: figures valid" in report) is not busy


def test_process_tree_takes_every_descendant_once():
    children = {1: [2, 3], 2: [4], 4: [2], 9: [10]}  # a cycle cannot make it loop
    assert machine.process_tree([1], children) == {1, 2, 3, 4}


def test_cpu_account_gives_each_process_to_its_first_group():
    account = machine.CpuAccount({"server": [999_999_999], "bench": [__import__("os").getpid()]})
    account.start()
    used = account.stop()
    assert set(used) == {"server", "bench", "others", "wall", "all_cores"}
    assert used["server"] == 0  # no such process
    assert used["others"] >= 0
