"""Per-agency call figures (`gateway.observability.timings`): every call is counted."""

from __future__ import annotations

from gateway.observability.timings import AgencyTimings


def test_every_call_of_an_agency_adds_to_its_figures() -> None:
    timings = AgencyTimings()
    timings.observe("customs", 0.2, True)
    timings.observe("customs", 0.4, False)
    timings.observe("customs", 0.3, True)
    timings.observe("health", 0.1, True)

    customs = timings.summary("customs")
    assert (customs["calls_total"], customs["errors_total"], customs["recent_calls"]) == (3, 1, 3)
    assert customs["p50_s"] == 0.3 and customs["error_rate"] == 1 / 3
    assert timings.summary("health")["calls_total"] == 1
    assert timings.summary("police")["calls_total"] == 0
