"""Circuit breaker transitions, driven by a clock the test moves: the pure rule, then the breakers
of one process on the in-memory store (the shared database store: tests/integration)."""

import datetime as dt

from gateway.fanout.breakers import (
    CLOSED,
    BreakerRecord,
    BreakerRule,
    Breakers,
    BreakerState,
    CircuitBreaker,
    MemoryBreakerStore,
)

T0 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def breakers(clock: Clock, failures: int, reset_s: float, lease_s: float = 60) -> Breakers:
    return Breakers(MemoryBreakerStore(), BreakerRule(failures, reset_s, lease_s), clock)


# --- the rule -------------------------------------------------------------------------------------

RULE = BreakerRule(failure_threshold=2, reset_after_s=10, probe_lease_s=30)


def test_rule_closed_admits_without_change_and_opens_at_the_threshold() -> None:
    assert RULE.admit(CLOSED, T0, "w1") is CLOSED
    once = RULE.failed(CLOSED, T0, "HTTP 503")
    assert once == BreakerRecord(failures=1, last_error="HTTP 503")
    twice = RULE.failed(once, at(1), "HTTP 502")
    assert twice == BreakerRecord(BreakerState.OPEN, 2, at(1), last_error="HTTP 502")
    assert RULE.succeeded(once) == CLOSED


def test_rule_open_refuses_until_the_reset_then_hands_out_one_leased_probe() -> None:
    opened = BreakerRecord(BreakerState.OPEN, 2, T0, last_error="down")
    assert RULE.refuses(opened, at(9.9)) and RULE.admit(opened, at(9.9), "w1") is None
    assert not RULE.refuses(opened, at(10))
    probing = RULE.admit(opened, at(10), "w1")
    assert probing == BreakerRecord(BreakerState.HALF_OPEN, 2, T0, "w1", at(40), "down")
    assert RULE.refuses(probing, at(39.9)) and RULE.admit(probing, at(39.9), "w2") is None


def test_rule_an_expired_probe_lease_lets_another_caller_probe() -> None:
    probing = BreakerRecord(BreakerState.HALF_OPEN, 2, T0, "w1", at(40), "down")
    assert not RULE.refuses(probing, at(40))
    taken = RULE.admit(probing, at(40), "w2")
    assert taken is not None and (taken.probe_owner, taken.probe_until) == ("w2", at(70))


def test_rule_probe_result_closes_or_opens_again() -> None:
    probing = BreakerRecord(BreakerState.HALF_OPEN, 2, T0, "w1", at(40), "down")
    assert RULE.succeeded(probing) == CLOSED
    again = RULE.failed(probing, at(12), "still down")
    assert again == BreakerRecord(BreakerState.OPEN, 3, at(12), last_error="still down")
    assert RULE.refuses(again, at(21.9)) and not RULE.refuses(again, at(22))


def state(breaker: CircuitBreaker) -> BreakerState:
    """The state now (read through a call: mypy would keep a property's earlier narrowing)."""
    return breaker.state


# --- the breakers of one process ------------------------------------------------------------------


def test_opens_after_consecutive_failures_and_refuses_calls() -> None:
    breaker = breakers(Clock(), failures=3, reset_s=10)["customs"]
    for _ in range(2):
        breaker.record_failure("HTTP 503")
    assert breaker.allow() and state(breaker) is BreakerState.CLOSED
    breaker.record_failure("HTTP 503")
    assert state(breaker) is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.snapshot()["last_error"] == "HTTP 503"


def test_a_success_resets_the_failure_count() -> None:
    breaker = breakers(Clock(), failures=2, reset_s=10)["customs"]
    breaker.record_failure("x")
    breaker.record_success()
    breaker.record_failure("x")
    assert state(breaker) is BreakerState.CLOSED


def test_half_open_lets_exactly_one_probe_through() -> None:
    clock = Clock()
    breaker = breakers(clock, failures=1, reset_s=10)["customs"]
    breaker.record_failure("down")
    clock.advance(9.9)
    assert not breaker.allow("w1")
    clock.advance(0.2)
    assert breaker.allow("w1")  # the probe
    assert state(breaker) is BreakerState.HALF_OPEN
    assert not breaker.allow("w2")  # a second caller waits for the probe
    assert not breaker.allow("w1")  # and so does the prober asking again


def test_failed_probe_opens_again_and_successful_probe_closes() -> None:
    clock = Clock()
    breaker = breakers(clock, failures=1, reset_s=5)["customs"]
    breaker.record_failure("down")
    clock.advance(6)
    assert breaker.allow()
    breaker.record_failure("still down")
    assert state(breaker) is BreakerState.OPEN and not breaker.allow()
    clock.advance(6)
    assert breaker.allow()
    breaker.record_success()
    assert state(breaker) is BreakerState.CLOSED and breaker.allow()


def test_breakers_report_only_agencies_whose_breaker_refuses_calls() -> None:
    clock = Clock()
    several = breakers(clock, failures=1, reset_s=5, lease_s=20)
    several["customs"].record_failure("down")
    several["health"].record_failure("blip")
    several["health"].record_success()
    assert several.open_agencies() == frozenset({"customs"})
    clock.advance(6)
    assert several.open_agencies() == frozenset()  # due a probe: a dispatcher may claim
    assert several["customs"].allow("w1")
    assert several.open_agencies() == frozenset({"customs"})  # the probe is out
    clock.advance(20)
    assert several.open_agencies() == frozenset()  # its lease ran out
    assert several.snapshot()["health"] == {
        "state": "closed",
        "consecutive_failures": 0,
        "opened_at": None,
        "last_error": None,
    }
    assert several.snapshot()["customs"]["opened_at"] == "2026-11-23T12:00:00Z"
