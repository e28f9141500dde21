"""Time at the checkpoint: one day of trucks at a four-lane electronic checkpoint, twice.

Scenario A, advance notice: each declaration is lodged (and the notice sent) hours before arrival.
Scenario B, at the border: the same trucks, the same declarations, lodged at the document
registration stage. Everything else is identical (same seed: same arrivals, readings, service times,
agency workloads, inspections). The difference in time at the checkpoint comes out of the model:
lanes are a pipeline of the six stations; agencies are pools of officers working cases in order of
lodging; a truck whose decision is not ready waits in the parking area before the exit barrier,
which opens per gateway.checkpoint.exit_permit.exit_verdict (the gateway's own rule); stage and
waiting times are summarised with gateway.checkpoint.timing.

This is a model run, not a load test of the gateway process. Every service time below is an
assumption (R, unconfirmed: no official dwell-time data was found, reference §4); change them on the
command line. Run: .venv/bin/python bench/checkpoint_bench.py [--trucks 2000] [--lanes 4] [--seed 9]
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import math
import random
from dataclasses import dataclass

from gateway.checkpoint.exit_permit import AppDecision, CaseView, exit_verdict
from gateway.checkpoint.registry import STAGES
from gateway.checkpoint.timing import (
    Distribution,
    TimingReport,
    histogram,
    summarise,
    visit_timing,
)

MIN = 60.0
# Median stage times at the stations, minutes (R): drive-through ANPR, radiation portal, weigh-in-
# motion with dimensions, X-ray drive-through scan, document registration kiosk. Lognormal, sigma 0.35.
STAGE_MEDIAN_MIN = {
    "entry": 0.3,
    "radiation": 0.5,
    "parameters": 0.8,
    "scan": 1.5,
    "documents": 1.5,
}
EXIT_MIN = 0.4
# Agencies (R): share of applications they act on, officers on duty 24/7, median minutes per case.
AGENCIES = {
    "customs": (1.00, 24, 8.0),
    "transport": (1.00, 12, 4.0),
    "police": (1.00, 12, 3.0),
    "veterinary": (0.10, 4, 10.0),
    "phytosanitary": (0.20, 6, 10.0),
    "health": (0.25, 6, 8.0),
}
INSPECTION_SHARE, INSPECTION_BAYS, INSPECTION_MEDIAN_MIN = 0.05, 3, 30.0
MEASURED = (86400.0, 2 * 86400.0)  # the middle of three simulated days
LEAD_HOURS = (2.0, 24.0)  # scenario A: lodged this long before arrival (uniform)
# Hourly arrival weights over the day (more trucks by day; the e-queue spreads them, R).
HOURLY = [0.4, 0.3, 0.3, 0.3, 0.5, 0.8, 1.1, 1.3, 1.4, 1.4, 1.4, 1.3,
          1.3, 1.3, 1.4, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9, 0.7, 0.6, 0.5]  # fmt: skip


def _lognormal(rng: random.Random, median_min: float, sigma: float = 0.35) -> float:
    return median_min * MIN * math.exp(rng.gauss(0, sigma))


@dataclass
class Truck:
    arrival: float
    service: dict[str, float]
    exit_s: float
    agencies: dict[str, float]  # agency -> case work, seconds
    inspection_s: float | None
    lead_s: float
    stage_done: dict[str, float] | None = None


def make_days(trucks: int, rng: random.Random, days: int = 3) -> list[Truck]:
    """`days` days of traffic: the first is a warm-up and the last a cool-down, so agencies and
    lanes carry the neighbouring days' work (as in steady state) while the middle day is measured."""
    weights = [w / sum(HOURLY) for w in HOURLY]
    arrivals = sorted(
        (day * 24 + rng.choices(range(24), weights)[0] + rng.random()) * 3600
        for day in range(days)
        for _ in range(trucks)
    )
    day = []
    for arrival in arrivals:
        agencies = {
            code: _lognormal(rng, median, 0.6)
            for code, (share, _, median) in AGENCIES.items()
            if rng.random() < share
        }
        inspection = (
            _lognormal(rng, INSPECTION_MEDIAN_MIN) if rng.random() < INSPECTION_SHARE else None
        )
        day.append(
            Truck(
                arrival,
                {s: _lognormal(rng, m) for s, m in STAGE_MEDIAN_MIN.items()},
                _lognormal(rng, EXIT_MIN),
                agencies,
                inspection,
                rng.uniform(*LEAD_HOURS) * 3600,
            )
        )
    return day


def run_lanes(day: list[Truck], lanes: int) -> None:
    """Each lane a pipeline of stations (FIFO); one queue in front picks the lane free soonest."""
    free = [dict.fromkeys(STAGE_MEDIAN_MIN, 0.0) for _ in range(lanes)]
    for truck in day:
        lane = min(range(lanes), key=lambda i: free[i]["entry"])
        t = truck.arrival
        done = {}
        for stage, service in truck.service.items():
            start = max(t, free[lane][stage])
            t = start + service
            free[lane][stage] = t
            done[stage] = t
        truck.stage_done = done


def _pool(jobs: list[tuple[float, float]], servers: int) -> list[float]:
    """Finish times of (ready, work) jobs served FIFO by `servers` identical servers."""
    order = sorted(range(len(jobs)), key=lambda i: jobs[i][0])
    heap = [0.0] * servers
    finish = [0.0] * len(jobs)
    for i in order:
        ready, work = jobs[i]
        start = max(ready, heapq.heappop(heap))
        finish[i] = start + work
        heapq.heappush(heap, finish[i])
    return finish


def run_scenario(day: list[Truck], advance: bool) -> tuple[list[float], list[float], TimingReport]:
    lodged = [t.arrival - t.lead_s if advance else (t.stage_done or {})["documents"] for t in day]
    decided = [0.0] * len(day)
    for code, (_, officers, _) in AGENCIES.items():
        idx = [i for i, t in enumerate(day) if code in t.agencies]
        finish = _pool([(lodged[i], day[i].agencies[code]) for i in idx], officers)
        for i, f in zip(idx, finish, strict=True):
            decided[i] = max(decided[i], f)
    # Inspections happen after the decision is known and the truck is at the checkpoint.
    needs = [i for i, t in enumerate(day) if t.inspection_s is not None]
    ready_for_bay = [max(decided[i], (day[i].stage_done or {})["documents"]) for i in needs]
    bays = _pool(
        [(r, day[i].inspection_s or 0.0) for r, i in zip(ready_for_bay, needs, strict=True)],
        INSPECTION_BAYS,
    )
    cleared = dict(zip(needs, bays, strict=True))
    totals, timings = [], []
    for i, truck in enumerate(day):
        if not MEASURED[0] <= truck.arrival < MEASURED[1]:
            continue
        done = truck.stage_done or {}
        requested = done["documents"] + 30.0  # drive to the exit barrier
        opens = max(requested, decided[i], cleared.get(i, 0.0))
        # The gateway's own rule, applied at the moment the barrier opens in the model.
        verdict = exit_verdict(
            manual_reason=None,
            manual_lane="M1",
            stages_passed=set(STAGES[:-1]),
            findings=[],
            decisions=[AppDecision(str(i), "released", (CaseView("customs", "granted"),))],
        )
        assert verdict.kind == "open"
        exited = opens + truck.exit_s
        entry_at = done["entry"] - truck.service["entry"]
        stage_times = {"entry": entry_at, **done}
        timings.append(
            visit_timing(
                {k: _at(v) for k, v in stage_times.items()},
                _at(requested),
                _at(exited),
                ready_on_arrival=decided[i] <= entry_at,
            )
        )
        totals.append((exited - truck.arrival) / MIN)
    queue = [
        ((t.stage_done or {})["entry"] - t.service["entry"] - t.arrival) / MIN
        for t in day
        if MEASURED[0] <= t.arrival < MEASURED[1]
    ]
    return totals, queue, summarise(timings)


def _at(seconds: float) -> dt.datetime:
    return dt.datetime(2026, 11, 27, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def _line(name: str, d: Distribution) -> str:
    return (
        f"  {name:<34} mean {d.mean:6.1f}  p10 {d.p10:6.1f}  p50 {d.p50:6.1f}  "
        f"p90 {d.p90:6.1f}  p95 {d.p95:6.1f}  max {d.max:6.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trucks", type=int, default=2000)
    parser.add_argument("--lanes", type=int, default=4)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    day = make_days(args.trucks, random.Random(args.seed))
    run_lanes(day, args.lanes)
    print(
        f"{args.trucks} trucks a day, {args.lanes} lanes, the middle of three simulated days, "
        f"seed {args.seed} (minutes)"
    )
    edges = [0, 10, 20, 30, 45, 60, 90, 120, 180, 240]
    for label, advance in (("A. advance notice", True), ("B. declaration at the border", False)):
        totals, queue, report = run_scenario(day, advance)
        print(f"\n{label}")
        print(_line("time at checkpoint (queue to exit)", Distribution.of(totals)))
        print(_line("queue before entry", Distribution.of(queue)))
        print(_line("entry to exit (gateway-measured)", report.total_min))
        print(_line("waiting at exit for the decision", report.waiting_min))
        stages = report.stage_mean_min
        print("  stage means: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
        print(f"  decision ready on arrival: {report.ready_on_arrival_share:.1%}")
        for bar in histogram(totals, edges, width=36):
            print("   " + bar)


if __name__ == "__main__":
    main()
