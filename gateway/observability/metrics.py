"""Prometheus metrics of the gateway, read at scrape time.

Each collector is handed the functions it reads (by the app factory), so it knows no web layer,
database or OMC: the application and agency figures are the same functions the OMC's pages call,
so the screen and the graphs never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

BREAKER_VALUE = {"closed": 0, "half-open": 1, "open": 2}


@dataclass(frozen=True)
class GatewayFigures:
    """Where the gateway's figures are read from at each scrape.

    `applications`: count by status or verdict; `agencies`: per agency a mapping with "code",
    "breaker" {"state"}, "queue_depth", "oldest_open_s", "escalated", "cases" {state: n} and
    "timing" (an `AgencyTimings.summary`); `fenced`: late writes refused by the lease fence, by
    kind; `signer_refusal`: why the trail's signer refuses ("" when it signs); `witness_alarms`:
    per witness, why it refused the latest checkpoint ("" when it did not)."""

    applications: Callable[[], Mapping[str, int]]
    agencies: Callable[[], Iterable[Mapping[str, Any]]]
    fenced: Callable[[], Mapping[str, int]]
    signer_refusal: Callable[[], str]
    witness_alarms: Callable[[], Mapping[str, str]]


def registry_for(figures: GatewayFigures) -> CollectorRegistry:
    """A registry of the gateway's collectors (one per app: tests build many apps per process)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(GatewayCollector(figures))
    registry.register(TrailCollector(figures.signer_refusal, figures.witness_alarms))
    return registry


class GatewayCollector(Collector):
    def __init__(self, figures: GatewayFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        apps = GaugeMetricFamily("nsw_applications", "Applications by status", labels=["status"])
        for status, count in sorted(self.figures.applications().items()):
            apps.add_metric([status], count)
        yield apps
        breaker = GaugeMetricFamily(
            "nsw_agency_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open",
            labels=["agency"],
        )  # fmt: skip
        queue = GaugeMetricFamily("nsw_agency_queue_depth", "Open deliveries", labels=["agency"])
        oldest = GaugeMetricFamily(
            "nsw_agency_oldest_open_case_seconds", "Age of the oldest open case", labels=["agency"]
        )
        escalated = GaugeMetricFamily(
            "nsw_agency_escalated_cases", "Escalated cases", labels=["agency"]
        )
        latency = GaugeMetricFamily(
            "nsw_agency_latency_seconds",
            "Agency call latency over 15 min",
            labels=["agency", "quantile"],
        )
        error_rate = GaugeMetricFamily(
            "nsw_agency_error_ratio", "Failed calls / calls over 15 min", labels=["agency"]
        )
        calls = CounterMetricFamily(
            "nsw_agency_calls", "Agency calls by outcome", labels=["agency", "outcome"]
        )
        cases = GaugeMetricFamily(
            "nsw_cases", "Cases by agency and state", labels=["agency", "state"]
        )
        for a in self.figures.agencies():
            code, timing = a["code"], a["timing"]
            breaker.add_metric([code], BREAKER_VALUE.get(a["breaker"]["state"], 0))
            queue.add_metric([code], a["queue_depth"])
            oldest.add_metric([code], a["oldest_open_s"] or 0.0)
            escalated.add_metric([code], a["escalated"])
            for q, key in (("0.5", "p50_s"), ("0.95", "p95_s")):
                if timing[key] is not None:
                    latency.add_metric([code, q], timing[key])
            if timing["error_rate"] is not None:
                error_rate.add_metric([code], timing["error_rate"])
            calls.add_metric([code, "ok"], timing["calls_total"] - timing["errors_total"])
            calls.add_metric([code, "error"], timing["errors_total"])
            for state, n in sorted(a["cases"].items()):
                cases.add_metric([code, state], n)
        yield from (breaker, queue, oldest, escalated, latency, error_rate, calls, cases)
        # Late writes of claims whose lease another worker took over, made no-ops by the fence
        # (issue 15): more than a few means NSW_LEASE_S is too short for the calls it covers.
        fenced = CounterMetricFamily(
            "nsw_fenced_writes", "Late writes refused by the lease fence", labels=["kind"]
        )
        for kind, n in sorted(self.figures.fenced().items()):
            fenced.add_metric([kind], n)
        yield fenced


class TrailCollector(Collector):
    """Gauges of the trail's signer and witnesses: alarms an operator must act on."""

    def __init__(
        self, refusal: Callable[[], str], witness_alarms: Callable[[], Mapping[str, str]]
    ) -> None:
        self.refusal = refusal
        self.witness_alarms = witness_alarms

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "nsw_trail_signer_refusing",
            "1 while the trail's signer refuses to sign (the stored log does not extend its last "
            "checkpoint) until an operator resets it",
            value=1 if self.refusal() else 0,
        )
        refused = GaugeMetricFamily(
            "nsw_trail_witness_refusing",
            "1 when a witness refused the log's latest checkpoint as inconsistent (a fork)",
            labels=["witness"],
        )
        for name, alarm in sorted(self.witness_alarms().items()):
            refused.add_metric([name], 1 if alarm else 0)
        yield refused
