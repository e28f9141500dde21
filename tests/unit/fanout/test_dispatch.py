"""The dispatcher on the outbox port: claim, call the adapter, settle; retry, escalate, fence."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from adapters.base import AgencyAnswer, AgencyCallFailed, AgencyRequest, Outcome
from gateway.decision.rules import CaseState
from gateway.fanout.breakers import BreakerRule, Breakers, MemoryBreakerStore
from gateway.fanout.dispatch import Dispatcher, RetryPolicy
from gateway.fanout.ports import ClaimTurn, Outbox
from gateway.fanout.wakeup import Wakeup
from tests.fakes.adapters import ScriptedAdapter, answer
from tests.fakes.clock import FakeClock
from tests.fakes.store import InMemoryStore
from tests.unit.fanout.conftest import APP, decide, lodge


def dispatcher(
    store: Outbox,
    clock: FakeClock,
    *adapters: ScriptedAdapter,
    max_attempts: int = 3,
    wakeup: Wakeup | None = None,
) -> Dispatcher:
    return Dispatcher(
        store,
        {a.spec.code: a for a in adapters},
        decide,
        clock,
        retry=RetryPolicy(max_attempts=max_attempts, base_s=1.0, cap_s=4.0),
        lease_s=60.0,
        breakers=Breakers(MemoryBreakerStore(), BreakerRule(failure_threshold=100), clock),
        deadline_s=3600.0,
        name="test-worker",
        wakeup=wakeup,
    )


def test_each_answer_settles_its_case_and_the_last_one_decides(
    store: InMemoryStore, clock: FakeClock
) -> None:
    lodge(store, "customs", "health")
    customs = ScriptedAdapter("customs", [answer(permit_number="C-1")])
    health = ScriptedAdapter("health", [answer(Outcome.INSPECTION, inspection="lab sample")])

    assert dispatcher(store, clock, customs, health).run_once() == 2

    assert [r.case_id for r in customs.sent + health.sent] == [f"{APP}-customs", f"{APP}-health"]
    assert store.cases[f"{APP}-customs"].permit_number == "C-1"
    assert store.cases[f"{APP}-health"].state is CaseState.INSPECTION
    app = store.applications[APP]
    assert (app.status, app.verdict) == ("decided", "inspection")
    assert app.decision_xml == f"<Decision of='{APP}'/>".encode()
    kinds = store.kinds(APP)
    assert kinds.count("agency-request") == kinds.count("agency-answer") == 2
    assert kinds[-1] == "decision"
    assert store.next_due() is None  # nothing owed any more


def test_a_failed_call_is_retried_later_then_escalated(
    store: InMemoryStore, clock: FakeClock
) -> None:
    lodge(store, "customs")
    down = AgencyCallFailed("connection refused", request_bytes=b"<request/>")
    customs = ScriptedAdapter("customs", [down, down, down])
    worker = dispatcher(store, clock, customs, max_attempts=3)
    case = store.cases[f"{APP}-customs"]

    assert worker.run_once() == 1
    assert case.state is CaseState.QUEUED and case.attempts == 1
    assert case.last_error == "connection refused"
    retry_at = store.next_due()
    assert retry_at is not None and retry_at > clock()
    assert worker.run_once() == 0  # not before its time

    for _ in range(2):
        clock.now = store.next_due() or clock.now
        assert worker.run_once() == 1
    assert (case.state, case.attempts) == (CaseState.ESCALATED, 3)
    assert store.next_due() is None  # escalated: never dropped, never sent again by itself
    assert store.kinds(APP) == ["agency-request"] * 3


def test_a_request_the_agency_refuses_is_escalated_at_once(
    store: InMemoryStore, clock: FakeClock
) -> None:
    lodge(store, "customs")
    refused = AgencyCallFailed("HTTP 422", answer_bytes=b'{"error": "bad"}', retryable=False)
    dispatcher(store, clock, ScriptedAdapter("customs", [refused])).run_once()

    case = store.cases[f"{APP}-customs"]
    assert case.state is CaseState.ESCALATED
    assert "sending it again cannot help" in (case.last_error or "")
    assert store.kinds(APP) == ["agency-answer"]


def test_an_agency_without_endpoint_is_rescheduled_not_called(
    store: InMemoryStore, clock: FakeClock
) -> None:
    lodge(store, "customs")
    customs = ScriptedAdapter("customs", [], endpoint="")
    dispatcher(store, clock, customs).run_once()
    assert customs.sent == []
    assert "No endpoint is configured" in (store.cases[f"{APP}-customs"].last_error or "")


def test_an_answer_overtaken_by_a_callback_leaves_the_case_as_the_callback_set_it(
    store: InMemoryStore, clock: FakeClock
) -> None:
    lodge(store, "customs")
    (claim,) = store.claim("w1", 60.0)
    store.cases[claim.case_id].state = CaseState.REFUSED  # a callback settled it meanwhile

    verdict = store.settle(claim, state=CaseState.GRANTED, fields={}, messages=[], decide=decide)

    assert verdict is None
    assert store.cases[claim.case_id].state is CaseState.REFUSED
    assert store.open_deliveries(claim.case_id) == []


def test_a_claim_whose_lease_another_worker_took_writes_nothing(
    store: InMemoryStore, clock: FakeClock
) -> None:
    lodge(store, "customs")
    (stale,) = store.claim("w1", 10.0)
    clock.advance(11)  # w1's lease ran out; w2 takes the row
    (live,) = store.claim("w2", 10.0)

    store.settle(stale, state=CaseState.GRANTED, fields={}, messages=[], decide=decide)
    store.reschedule(stale, error="late", retry_at=None, messages=[])

    assert store.fenced == {"outbox-settle": 1, "outbox-reschedule": 1}
    assert store.cases[live.case_id].state is CaseState.QUEUED
    assert store.open_deliveries(live.case_id)[0].lease_until is not None  # w2's lease stands


def test_a_claim_too_old_for_a_call_is_put_back_without_spending_an_attempt(
    store: InMemoryStore, clock: FakeClock
) -> None:
    lodge(store, "customs")
    customs = ScriptedAdapter("customs", [answer()])
    worker = dispatcher(store, clock, customs)
    worker.lease_s = 2.0  # shorter than the adapter's 5 s timeout

    assert worker.run_once() == 1
    assert customs.sent == []
    (delivery,) = store.open_deliveries(f"{APP}-customs")
    assert delivery.attempts == 0 and delivery.lease_until is None


def test_the_sweep_escalates_cases_past_their_deadline(
    store: InMemoryStore, clock: FakeClock
) -> None:
    lodge(store, "customs")
    worker = dispatcher(store, clock)
    assert worker.sweep() == []
    clock.advance(3601)
    assert worker.sweep() == [f"{APP}-customs"]
    assert store.cases[f"{APP}-customs"].state is CaseState.ESCALATED
    assert store.next_due() is None


@pytest.mark.parametrize("attempts", [1, 2, 4])
def test_retry_policy_bounds_the_delay(attempts: int) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    policy = RetryPolicy(max_attempts=4, base_s=1.0, cap_s=3.0)
    retry_at = policy.next_try(attempts, now)
    if attempts >= 4:
        assert retry_at is None
    else:
        assert retry_at is not None
        bound = min(3.0, 2 ** (attempts - 1))
        assert bound / 2 <= (retry_at - now).total_seconds() <= bound


class LookCountingStore(InMemoryStore):
    """Counts the dispatcher's own looks (`next_due`), not those made inside a claim."""

    looks = 0

    def next_due(self) -> dt.datetime | None:
        self.looks += 1
        return super().next_due()


def test_a_claim_that_saw_more_due_claims_again_without_a_look_of_its_own(
    clock: FakeClock,
) -> None:
    store = LookCountingStore(clock)
    lodge(store, "customs", "transport", "police")
    adapters = [ScriptedAdapter(code, [answer()]) for code in ("customs", "transport", "police")]
    worker = dispatcher(store, clock, *adapters)

    while worker.run_once(batch=1):
        pass

    assert store.applications[APP].verdict == "released"
    # One look when the work arrived and one once it was done; the turns between claimed on
    # what their claim's transaction read (one look per turn made four).
    assert store.looks == 2
    assert worker.next_due() is None


def test_a_store_whose_claims_say_when_next_is_due_is_never_looked_at_first(
    clock: FakeClock,
) -> None:
    store = LookCountingStore(clock)
    store.looks_before_claiming = False  # PostgreSQL's: an empty claim is a statement, no lock
    lodge(store, "customs", "transport")
    adapters = [ScriptedAdapter(code, [answer()]) for code in ("customs", "transport")]
    worker = dispatcher(store, clock, *adapters)

    while worker.run_once(batch=1):
        pass

    assert store.applications[APP].verdict == "released"
    assert store.looks == 0  # each turn's claim said what a look would have
    assert worker.next_due() is None


class ClaimCountingStore(LookCountingStore):
    """Counts the claims too (each a write transaction on SQLite, a statement on PostgreSQL)."""

    claims = 0

    def claim_ready(self, *args: Any, **kwargs: Any) -> ClaimTurn:
        self.claims += 1
        return super().claim_ready(*args, **kwargs)


@pytest.mark.parametrize("looks_first", [True, False], ids=["sqlite-like", "postgresql-like"])
def test_a_signal_of_new_work_and_a_claim_just_made_spare_the_turns_a_statement(
    clock: FakeClock, looks_first: bool
) -> None:
    store = ClaimCountingStore(clock)
    store.looks_before_claiming = looks_first
    wakeup = Wakeup()
    adapters = [ScriptedAdapter(code, [answer()] * 3) for code in ("customs", "transport")]
    # As bootstrap builds it: with the wake-up the store signals after committing new work.
    worker = dispatcher(store, clock, *adapters, wakeup=wakeup)

    def turn() -> tuple[int, int, int]:
        looks, claims = store.looks, store.claims
        claimed = worker.run_once()
        return claimed, store.looks - looks, store.claims - claims

    # Nothing signalled yet: SQLite's way looks before it claims, PostgreSQL's claims.
    assert turn() == (0, looks_first, not looks_first)
    lodge(store, "customs", "transport")
    wakeup.signal()  # as the store does after committing the application
    # Work was signalled since the last turn: it claims without looking first.
    assert turn() == (2, 0, 1)
    assert store.applications[APP].verdict == "released"
    # Right after a claim, with nothing signalled since, the claim's own statement said when
    # the next delivery is due: no statement.
    assert turn() == (0, 0, 0)
    # The turn after that (after the loop's wait) looks again: work of another process, say.
    assert turn() == (0, looks_first, not looks_first)

    # New work signalled between a claim and the turn right after it: that turn claims it.
    lodge(store, "customs", "transport", app_id="NSW-20261123-0000000002")
    wakeup.signal()
    assert turn() == (2, 0, 1)
    lodge(store, "customs", "transport", app_id="NSW-20261123-0000000003")
    wakeup.signal()
    assert turn() == (2, 0, 1)
    assert store.applications["NSW-20261123-0000000003"].verdict == "released"


class ThreadNotingAdapter(ScriptedAdapter):
    """Notes the thread each request was sent from."""

    threads: list[str]

    def send(self, request: AgencyRequest) -> AgencyAnswer:
        self.threads = [*getattr(self, "threads", []), threading.current_thread().name]
        return super().send(request)


def test_run_once_can_deliver_what_it_claimed_one_after_another_in_its_own_thread(
    store: InMemoryStore, clock: FakeClock
) -> None:
    lodge(store, "customs", "health")
    customs = ThreadNotingAdapter("customs", [answer()])
    health = ThreadNotingAdapter("health", [answer()])

    assert dispatcher(store, clock, customs, health).run_once(batch=2, in_threads=False) == 2

    assert customs.threads == health.threads == [threading.current_thread().name]
    assert store.applications[APP].verdict == "released"
