"""Who used the machine's CPU during a timed run: per process group, as % of the machine. Not a test.

`fanout_bench.py` prints it so that a run says whether CPU was the limit: the gateway's web process
and each worker (a worker near 100 % of one core is bound by its own GIL), the stand-in agencies,
the PostgreSQL backends serving the bench's database, the bench's own client, and everything else on
the machine (other work that competes for the same cores). Read from /proc: utime + stime of every
thread of each process (`/proc/<pid>/stat` fields 14 and 15) and the machine's busy/total ticks
(`/proc/stat`).

PostgreSQL backends are found by their process title (`postgres: ... <user> <database> <client>`),
so only connections to the bench's own database count; a backend that both started and ended
inside the run is missed (the gateway's pools keep theirs open, so this is small).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):  # ended meanwhile
        return 0
    return int(fields[11]) + int(fields[12])


def _machine() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def postgres_backends(database: str) -> list[int]:
    """Pids of the PostgreSQL backends connected to `database` (by their process title)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        words = title.split()
        # "postgres: 15/main: postgres bench_x 127.0.0.1(40000) idle": the 4th word is the database.
        if words[:1] == ["postgres:"] and len(words) > 3 and words[3] == database:
            found.append(int(entry.name))
    return found


@dataclass
class Snapshot:
    machine: tuple[int, int]
    ticks: dict[int, int]  # pid -> CPU ticks
    own: float  # this process's CPU seconds


class CpuShare:
    """Call `start()` before the timed phase and `stop()` after it; `report()` says who used what.

    `groups` maps a label to the pids counted under it; `database` (PostgreSQL only) adds the
    backends serving it, looked up at both ends of the run."""

    def __init__(self, groups: Mapping[str, Sequence[int]], database: str | None = None) -> None:
        self.groups = {label: list(pids) for label, pids in groups.items()}
        self.database = database
        self._start: Snapshot | None = None
        self._end: Snapshot | None = None

    def _snapshot(self) -> Snapshot:
        pids = [p for pids in self.groups.values() for p in pids]
        if self.database:
            pids += postgres_backends(self.database)
        times = os.times()
        return Snapshot(_machine(), {p: _ticks(p) for p in pids}, times.user + times.system)

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self) -> None:
        self._end = self._snapshot()

    def shares(self) -> dict[str, float]:
        """label -> fraction of the machine (all cores) over the run; "bench client", "others"
        (busy ticks nobody here accounts for) and "idle" complete it to about 1."""
        assert self._start is not None and self._end is not None, "start() and stop() first"
        a, b = self._start, self._end
        total = max(1, b.machine[1] - a.machine[1])  # ticks of all cores together
        used = {
            label: sum(b.ticks.get(p, 0) - a.ticks.get(p, 0) for p in pids)
            for label, pids in self.groups.items()
        }
        if self.database:
            # A backend that appeared during the run counts from 0 (it started inside it).
            backends = set(b.ticks) - {p for pids in self.groups.values() for p in pids}
            used["PostgreSQL"] = sum(b.ticks[p] - a.ticks.get(p, 0) for p in backends)
        used["bench client"] = round((b.own - a.own) * TICK)
        busy = b.machine[0] - a.machine[0]
        shares = {label: ticks / total for label, ticks in used.items()}
        shares["others"] = max(0, busy - sum(used.values())) / total
        shares["idle"] = max(0, total - busy) / total
        return shares

    def cpu_seconds(self) -> dict[str, float]:
        """label -> CPU seconds over the run (the groups, "PostgreSQL", "bench client")."""
        assert self._start is not None and self._end is not None, "start() and stop() first"
        seconds = (self._end.machine[1] - self._start.machine[1]) / TICK  # all cores' seconds
        return {
            label: share * seconds
            for label, share in self.shares().items()
            if label not in ("others", "idle")
        }

    def capacity(
        self, applications: int, gil_bound: Sequence[str], measured: float | None = None
    ) -> str:
        """What this run's CPU per application allows, whatever the load on the machine: the
        processes named in `gil_bound` (the workers, or the web process that dispatches) can each
        use at most one core (their GIL), and everything this run started shares the machine's
        cores. So N such processes decide at most N x 1000 / (their ms per application) a second,
        and the machine at most cores x 1000 / (everyone's ms per application). With `measured`
        (the decisions a second this run made) the headroom is taken from it: a process held
        back by something other than CPU (its delivery slots, the agencies' latency) leaves room
        that a second one can use up to the machine's bound."""
        cpu = self.cpu_seconds()
        n = max(1, len(gil_bound))
        gil_ms = 1000 * sum(cpu[label] for label in gil_bound) / max(1, applications)
        all_ms = 1000 * sum(cpu.values()) / max(1, applications)
        per_process = 1000 / max(1e-9, gil_ms / n)  # one process's bound, apps/s
        machine = CORES * 1000 / max(1e-9, all_ms)
        line = (
            f"  capacity from CPU per application: each of {n} dispatching process(es) "
            f"{gil_ms / n:.1f} ms/app, so <= {per_process:.1f} apps/s each (one core, its GIL); "
            f"all {CORES} cores <= {machine:.1f} apps/s ({all_ms:.1f} ms/app for everything this "
            f"run started, bench client included)"
        )
        if measured is None or measured <= 0:
            two_vs_one = min(2 * per_process, machine) / min(per_process, machine)
            return f"{line}: a second such process can give at most {two_vs_one:.2f}x one"
        more = min((n + 1) * per_process, machine) / measured
        return (
            f"{line}: against the {measured:.1f} decisions/s measured, one more such process "
            f"can give at most {more:.2f}x"
        )

    def report(self, applications: int = 0) -> str:
        """One line: each group's share of the machine, of one core where that says more (a single
        process), and with `applications` its CPU per application (which load elsewhere on the
        machine skews much less than the shares)."""
        assert self._start is not None and self._end is not None, "start() and stop() first"
        seconds = (self._end.machine[1] - self._start.machine[1]) / TICK  # all cores' seconds
        parts = []
        for label, share in self.shares().items():
            notes = [f"{share * CORES:.0%} of a core"] if label in self._per_core() else []
            if applications and label not in ("others", "idle"):
                notes.append(f"{share * seconds / applications * 1000:.1f} ms/app")
            parts.append(f"{label} {share:.0%}" + (f" ({', '.join(notes)})" if notes else ""))
        return f"  CPU, % of the machine ({CORES} cores) over the run: " + ", ".join(parts)

    def _per_core(self) -> set[str]:
        # Single processes, whose GIL caps them at one core: say how close they came.
        return {label for label, pids in self.groups.items() if len(pids) == 1}
