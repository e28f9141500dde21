"""Circuit breaker transitions, driven by a clock the test moves."""

import datetime as dt

from gateway.breaker import Breakers, BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def test_opens_after_consecutive_failures_and_refuses_calls() -> None:
    breaker = CircuitBreaker(Clock(), failure_threshold=3, reset_after_s=10)
    for _ in range(2):
        breaker.record_failure("HTTP 503")
    assert breaker.allow() and breaker.state is BreakerState.CLOSED
    breaker.record_failure("HTTP 503")
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.snapshot()["last_error"] == "HTTP 503"


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(Clock(), failure_threshold=2, reset_after_s=10)
    breaker.record_failure("x")
    breaker.record_success()
    breaker.record_failure("x")
    assert breaker.state is BreakerState.CLOSED


def test_half_open_lets_exactly_one_probe_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock, failure_threshold=1, reset_after_s=10)
    breaker.record_failure("down")
    clock.advance(9.9)
    assert not breaker.allow()
    clock.advance(0.2)
    assert breaker.allow()  # the probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # a second caller waits for the probe


def test_failed_probe_opens_again_and_successful_probe_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock, failure_threshold=1, reset_after_s=5)
    breaker.record_failure("down")
    clock.advance(6)
    assert breaker.allow()
    breaker.record_failure("still down")
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.advance(6)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()


def test_breakers_report_only_agencies_whose_breaker_is_open() -> None:
    clock = Clock()
    breakers = Breakers(clock, failure_threshold=1, reset_after_s=5)
    breakers["customs"].record_failure("down")
    breakers["health"].record_success()
    assert breakers.open_agencies() == frozenset({"customs"})
    clock.advance(6)
    assert breakers.open_agencies() == frozenset()
    assert breakers.snapshot()["health"]["state"] == "closed"
