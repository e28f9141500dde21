"""Measured time at the border: per visit, split by stage and by waiting at the exit for the
decision (or clearance), and summaries over many visits. Pure functions, used by the gateway's
timing report and by bench/checkpoint_bench.py alike."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.checkpoint.registry import STAGES


@dataclass(frozen=True)
class VisitTiming:
    total_s: float  # entry registration to the barrier opening
    stages_s: dict[str, float]  # stage -> time from the previous stage's reading to this one
    waiting_s: float  # at the exit barrier, from the first request to the opening
    ready_on_arrival: bool


def visit_timing(
    stage_times: Mapping[str, dt.datetime],
    exit_requested_at: dt.datetime,
    exited_at: dt.datetime,
    ready_on_arrival: bool,
) -> VisitTiming:
    """`stage_times` holds the entry..documents readings; the exit stage's own time is the first
    request at the barrier, and the wait after it is counted separately."""
    times = {**stage_times, "exit": exit_requested_at}
    stages: dict[str, float] = {}
    for before, stage in itertools.pairwise(STAGES):
        if before in times and stage in times:
            stages[stage] = (times[stage] - times[before]).total_seconds()
    return VisitTiming(
        total_s=(exited_at - times["entry"]).total_seconds(),
        stages_s=stages,
        waiting_s=max((exited_at - exit_requested_at).total_seconds(), 0.0),
        ready_on_arrival=ready_on_arrival,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Distribution:
    count: int
    mean: float
    p10: float
    p50: float
    p90: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        if not values:
            return cls(0, *(math.nan,) * 6)
        return cls(
            len(values),
            sum(values) / len(values),
            percentile(values, 10),
            percentile(values, 50),
            percentile(values, 90),
            percentile(values, 95),
            max(values),
        )


@dataclass(frozen=True)
class TimingReport:
    vehicles: int
    ready_on_arrival_share: float
    total_min: Distribution
    waiting_min: Distribution
    stage_mean_min: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        return {
            "vehicles": self.vehicles,
            "ready_on_arrival_share": _finite(self.ready_on_arrival_share, 4),
            "time_at_checkpoint_min": _rounded(self.total_min),
            "waiting_for_decision_min": _rounded(self.waiting_min),
            "stage_mean_min": {k: _finite(v) for k, v in self.stage_mean_min.items()},
        }


def _finite(value: float, digits: int = 2) -> float | None:
    """JSON has no NaN: an empty summary reports null."""
    return None if math.isnan(value) else round(value, digits)


def _rounded(d: Distribution) -> dict[str, float | None]:
    return {k: _finite(float(v)) for k, v in d.__dict__.items()}


def summarise(visits: Sequence[VisitTiming]) -> TimingReport:
    n = len(visits)
    stage_mean = {
        stage: sum(v.stages_s.get(stage, 0.0) for v in visits) / n / 60 if n else math.nan
        for stage in STAGES[1:]
    }
    return TimingReport(
        vehicles=n,
        ready_on_arrival_share=sum(v.ready_on_arrival for v in visits) / n if n else math.nan,
        total_min=Distribution.of([v.total_s / 60 for v in visits]),
        waiting_min=Distribution.of([v.waiting_s / 60 for v in visits]),
        stage_mean_min=stage_mean,
    )


def histogram(values: Sequence[float], edges: Sequence[float], width: int = 40) -> list[str]:
    """Text bars: one line per bin [edges[i], edges[i+1]), the last bin open-ended."""
    bins = [0] * len(edges)
    for v in values:
        index = max(i for i, e in enumerate(edges) if v >= e) if v >= edges[0] else 0
        bins[index] += 1
    top = max(bins) or 1
    lines = []
    for i, count in enumerate(bins):
        label = (
            f"{edges[i]:>4.0f}-{edges[i + 1]:<4.0f}"
            if i + 1 < len(edges)
            else f"{edges[i]:>4.0f}+    "
        )
        lines.append(f"{label} min |{'#' * round(count / top * width):<{width}}| {count}")
    return lines
