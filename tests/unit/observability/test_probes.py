"""Readiness from named checks: a failing required check is not-ready, a failing alarm degraded,
and a check that raises is an answer ("failed: ..."), never a 500."""

from __future__ import annotations

from gateway.observability.health import OK, Probes


def _raises() -> str:
    raise ConnectionRefusedError("database down")


def test_all_ok_is_ready() -> None:
    readiness = Probes({"database": lambda: OK}, {"trail_signer": lambda: OK}).readiness()
    assert (readiness.status, readiness.ready) == ("ready", True)
    assert readiness.checks == {"database": "ok", "trail_signer": "ok"}


def test_a_failing_alarm_is_degraded_but_ready() -> None:
    readiness = Probes({"database": lambda: OK}, {"trail_signer": lambda: "refusing"}).readiness()
    assert (readiness.status, readiness.ready) == ("degraded", True)


def test_a_check_that_raises_makes_the_node_not_ready_and_says_why() -> None:
    readiness = Probes({"database": _raises}, {"trail_signer": lambda: "refusing"}).readiness()
    assert (readiness.status, readiness.ready) == ("not-ready", False)
    assert readiness.checks["database"] == "failed: ConnectionRefusedError"
