"""Prometheus metrics with the figures the OMC screen shows, read at scrape time from the same
functions as the pages (gateway.omc.health), so the screen and the graphs never disagree."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.bootstrap import Services
from gateway.omc.health import agency_health, application_counts

BREAKER_VALUE = {"closed": 0, "half-open": 1, "open": 2}


class GatewayCollector(Collector):
    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        apps = GaugeMetricFamily("nsw_applications", "Applications by status", labels=["status"])
        for status, count in sorted(application_counts(self.services).items()):
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
        for a in agency_health(self.services):
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
        for kind, n in sorted(self.services.store.fenced.counts().items()):
            fenced.add_metric([kind], n)
        yield fenced
