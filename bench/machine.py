"""The machine's own noise, for every benchmark: how idle it was before a run, how much CPU others
took during it, the spread of figures measured over rounds, and one "met" / "NOT met" line per target.

Why: a figure taken on a 2-core machine that something else is using says more about the something
else than about the code (docs/benchmarks.md has p95s 10-50x apart for the same code). So a
benchmark measures the machine as well, refuses to call a busy-machine figure a result, and shows
each figure as the median of its rounds with their range, not as one lucky or unlucky sample.

    from machine import MachineWatch, summarize, verdict

    watch = MachineWatch.before_run()        # idle share over the 5 s before, load average
    ...rounds...
    watch.after_run()                       # CPU other processes took meanwhile
    print(watch.report())                   # "BUSY MACHINE: figures not valid" when it was busy
    ok = verdict("writes p95", summarize(p95s).max, 300, "ms")
    sys.exit(exit_status(ok, watch.busy))   # 0 met, 1 missed on a quiet machine, 2 busy machine

or, for a benchmark whose targets go into ``make bench``'s summary table, :class:`Targets`:

    targets = Targets("exports", watch)
    targets.check("demo: PostGIS -> .osm.pbf", ratio, 0.8, "x", at_most=False, ours="0.33 s (0.32-0.35)",
                  reference="0.16 s (0.16-0.17)")
    sys.exit(targets.finish())              # prints the machine's state, records the rows, exit status

Only /proc is read (Linux), no dependency.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Quiet: at least this share of both cores idle over the seconds before the run, and at most this
# share of the machine taken by processes outside the benchmark while it ran.
QUIET_IDLE_SHARE = 0.90
QUIET_FOREIGN_SHARE = 0.10


def cpu_times(stat_text: str | None = None) -> tuple[int, int]:
    """(idle, total) jiffies of all CPUs from /proc/stat's first line; iowait counts as idle (the
    CPU could run a runnable process then). Steal is busy: another guest had our core."""
    text = stat_text if stat_text is not None else Path("/proc/stat").read_text()
    fields = [int(v) for v in text.splitlines()[0].split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
    fields = fields[:8]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return idle, sum(fields)


def idle_between(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Idle share (0-1) of the machine between two :func:`cpu_times` samples."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 1.0


def idle_share(seconds: float = 5) -> float:
    """Share (0-1) of all cores left idle over the next ``seconds`` (sleeps that long)."""
    before = cpu_times()
    time.sleep(seconds)
    return idle_between(before, cpu_times())


def load_average() -> tuple[float, float, float]:
    """The 1-, 5- and 15-minute load averages (runnable and uninterruptible tasks)."""
    return tuple(float(v) for v in Path("/proc/loadavg").read_text().split()[:3])


def process_jiffies() -> tuple[dict[int, int], dict[int, list[int]]]:
    """Every process's CPU jiffies (user + system, plus those of its reaped children) and the
    children of each process, from /proc/<pid>/stat."""
    jiffies: dict[int, int] = {}
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        rest = raw[raw.rindex(")") + 2 :].split()  # comm may hold spaces and parentheses
        pid = int(entry.name)
        jiffies[pid] = sum(int(v) for v in rest[11:15])  # utime stime cutime cstime
        children.setdefault(int(rest[1]), []).append(pid)
    return jiffies, children


def process_tree(roots: Iterable[int], children: dict[int, list[int]]) -> set[int]:
    """``roots`` and all their live descendants."""
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo += children.get(pid, [])
    return seen


class CpuAccount:
    """CPU seconds used between :meth:`start` and :meth:`stop` by named groups of process trees
    (each process counted once, in the first group whose tree holds it), and by everything else.

    A process already running at :meth:`start` counts only what it used since; one started later
    counts whole. A child that exits is counted in its parent's children times once reaped.
    """

    def __init__(self, groups: dict[str, list[int]]):
        self.groups = groups

    def start(self) -> None:
        self._cpu = cpu_times()
        self._jiffies, _ = process_jiffies()
        self._wall = time.monotonic()

    def stop(self) -> dict[str, float]:
        """{group: CPU seconds, ..., "others": CPU seconds, "wall": seconds}."""
        end_cpu = cpu_times()
        jiffies, children = process_jiffies()
        tick = os.sysconf("SC_CLK_TCK")
        used: dict[str, float] = {}
        claimed: set[int] = set()
        for name, roots in self.groups.items():
            pids = process_tree(roots, children) - claimed
            claimed |= pids
            used[name] = (
                sum(max(0, jiffies[p] - self._jiffies.get(p, 0)) for p in pids if p in jiffies) / tick
            )
        busy = ((end_cpu[1] - self._cpu[1]) - (end_cpu[0] - self._cpu[0])) / tick
        used["others"] = max(0.0, busy - sum(used.values()))
        used["wall"] = time.monotonic() - self._wall
        used["all_cores"] = (end_cpu[1] - self._cpu[1]) / tick
        return used


@dataclass
class Spread:
    """A figure measured over several rounds."""

    median: float
    min: float
    max: float
    values: list[float] = field(default_factory=list)

    def __str__(self) -> str:
        return self.format()

    def format(self, digits: int = 0) -> str:
        """'median (min-max)', e.g. '41 (38-57)'; one value alone is shown alone."""
        f = f"{{:.{digits}f}}"
        if len(self.values) == 1:
            return f.format(self.median)
        return f"{f.format(self.median)} ({f.format(self.min)}-{f.format(self.max)})"


def summarize(rounds: Iterable[float]) -> Spread:
    """Median, minimum and maximum of one figure over the rounds that measured it."""
    values = [float(v) for v in rounds]
    if not values:
        raise ValueError("no rounds to summarize")
    return Spread(statistics.median(values), min(values), max(values), values)


def verdict(name: str, value: float, target: float, unit: str = "", *, at_most: bool = True) -> bool:
    """Print one line ``name: value unit (target <= target unit): met`` (or ``NOT met``); True if met."""
    met = value <= target if at_most else value >= target
    sign = "<=" if at_most else ">="
    unit_s = _unit(unit)
    print(f"{name}: {value:g}{unit_s} (target {sign} {target:g}{unit_s}): {'met' if met else 'NOT met'}")
    return met


def _unit(unit: str) -> str:
    """A unit as written after a figure: ``1.25x``, ``12.5 s``."""
    return unit if unit == "x" else f" {unit}" if unit else ""


def exit_status(all_met: bool, busy: bool) -> int:
    """A benchmark's exit status: 0 every target met; 1 a target missed on a quiet machine (a real
    miss); 2 a target missed on a busy machine (no result either way: run it again when quiet)."""
    if all_met:
        return 0
    return 2 if busy else 1


@dataclass
class MachineWatch:
    """The machine's state around one benchmark run (see the module docstring).

    ``ours`` are the process ids whose trees belong to the benchmark (this process and its children
    are always included; :meth:`add` e.g. the PostgreSQL postmaster the benchmark talks to); the CPU
    all other processes took during the run is the "foreign" share.
    """

    idle_before: float
    load_before: tuple[float, float, float]
    cores: int
    ours: list[int] = field(default_factory=list)
    foreign_share: float | None = None
    load_after: tuple[float, float, float] | None = None
    _account: CpuAccount | None = None

    @classmethod
    def before_run(cls, seconds: float = 5, ours: Iterable[int] = ()) -> MachineWatch:
        """Sample the idle share over ``seconds`` (nothing of the benchmark running yet), then start
        counting the CPU of everything else."""
        watch = cls(idle_share(seconds), load_average(), os.cpu_count() or 1, [os.getpid(), *ours])
        watch._account = CpuAccount({"ours": watch.ours})
        watch._account.start()
        return watch

    def add(self, pid: int) -> None:
        """Count ``pid``'s tree as the benchmark's (e.g. the database server it uses)."""
        self.ours.append(pid)

    def after_run(self) -> None:
        used = self._account.stop()
        self.foreign_share = used["others"] / used["all_cores"] if used["all_cores"] > 0 else 0.0
        self.load_after = load_average()

    @property
    def busy(self) -> bool:
        return self.idle_before < QUIET_IDLE_SHARE or (
            self.foreign_share is not None and self.foreign_share > QUIET_FOREIGN_SHARE
        )

    def report(self) -> str:
        lines = [
            f"machine before the run: {self.idle_before:.0%} of {self.cores} cores idle over the 5 s "
            f"before, load average {' '.join(f'{v:.2f}' for v in self.load_before)}"
        ]
        if self.foreign_share is not None:
            lines.append(
                f"machine during the run: other processes took {self.foreign_share:.0%} of the cores; "
                f"load average after {' '.join(f'{v:.2f}' for v in self.load_after)}"
            )
        if self.busy:
            lines.append(
                f"BUSY MACHINE: figures not valid (quiet means >= {QUIET_IDLE_SHARE:.0%} idle before "
                f"and <= {QUIET_FOREIGN_SHARE:.0%} taken by others during the run)"
            )
        else:
            lines.append("quiet machine: figures valid")
        return "\n".join(lines)


def machine_state(watch: MachineWatch) -> str:
    """One short cell for a summary table: ``quiet`` or ``BUSY``, the idle share before, the load
    average before and, once known, the share others took during the run."""
    during = f", others {watch.foreign_share:.0%}" if watch.foreign_share is not None else ""
    return (
        f"{'BUSY' if watch.busy else 'quiet'} (idle {watch.idle_before:.0%}, "
        f"load {watch.load_before[0]:.2f}{during})"
    )


# Where a benchmark appends its target rows (JSON lines) when bench/run.py runs it.
SUMMARY_ENV = "CARTOPARTY_BENCH_SUMMARY"
SUMMARY_HEADERS = ["bench", "case", "ours", "reference", "ratio", "target", "result", "machine"]


@dataclass
class Outcome:
    """One target of one benchmark run, as a row of the summary table."""

    bench: str
    case: str
    ours: str
    reference: str
    ratio: str
    target: str
    met: bool
    machine: str = ""

    def cells(self) -> list[str]:
        result = "met" if self.met else "NOT met"
        return [
            self.bench,
            self.case,
            self.ours,
            self.reference,
            self.ratio,
            self.target,
            result,
            self.machine,
        ]


class Targets:
    """The targets one benchmark run checks: a "met" / "NOT met" line each as they are checked, then
    (:meth:`finish`) the machine's state, the rows for ``make bench``'s summary and the exit status.

    Why one object: every benchmark then judges, reports and exits the same way, and bench/run.py
    can put every target of every benchmark in one table without parsing their outputs.
    """

    def __init__(self, bench: str, watch: MachineWatch) -> None:
        self.bench = bench
        self.watch = watch
        self.outcomes: list[Outcome] = []

    def check(
        self,
        case: str,
        value: float,
        target: float,
        unit: str = "",
        *,
        at_most: bool = True,
        ours: str = "",
        reference: str = "",
    ) -> bool:
        """Judge ``value`` against ``target`` (see :func:`verdict`). A ratio target (``unit`` "x")
        shows ``ours`` and ``reference`` (the figures it compares, with their spread) in the summary;
        any other shows ``ours`` or else the value itself."""
        met = verdict(case, value, target, unit, at_most=at_most)
        sign = "<=" if at_most else ">="
        unit_s = _unit(unit)
        ratio = f"{value:.2f}x" if unit == "x" else ""
        shown = ours or ("" if unit == "x" else f"{value:g}{unit_s}")
        self.outcomes.append(
            Outcome(self.bench, case, shown, reference, ratio, f"{sign} {target:g}{unit_s}", met)
        )
        return met

    @property
    def all_met(self) -> bool:
        return all(o.met for o in self.outcomes)

    def finish(self) -> int:
        """Print the machine's state (``BUSY MACHINE`` when it was busy), record the rows where
        bench/run.py reads them, and return the exit status (:func:`exit_status`)."""
        if self.watch.foreign_share is None:
            self.watch.after_run()
        print(self.watch.report())
        state = machine_state(self.watch)
        for outcome in self.outcomes:
            outcome.machine = state
        print(f"{self.bench}: {sum(o.met for o in self.outcomes)} of {len(self.outcomes)} targets met")
        summary = os.environ.get(SUMMARY_ENV)
        if summary:
            with open(summary, "a", encoding="utf-8") as out:
                for outcome in self.outcomes:
                    out.write(json.dumps(outcome.__dict__) + "\n")
        return exit_status(self.all_met, self.watch.busy)


def read_outcomes(path: Path) -> list[Outcome]:
    """The rows benchmarks appended to a summary file (none if it does not exist)."""
    if not path.exists():
        return []
    return [Outcome(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]


def summary_table(outcomes: list[Outcome]) -> str:
    """Every target of every benchmark, one Markdown-style row each."""
    rows = [SUMMARY_HEADERS, *(o.cells() for o in outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(SUMMARY_HEADERS))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [line(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows[1:])]
    )
