"""Prometheus gauges of the trail's signer and witnesses (alarms an operator must act on)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class TrailCollector(Collector):
    def __init__(
        self, refusal: Callable[[], str], witness_alarms: Callable[[], dict[str, str]]
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
