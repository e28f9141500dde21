"""A dispatcher's delivery slots: it claims again as soon as a slot frees, never waiting for the
slowest delivery of its last claim, and never has more in flight than it has slots."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from adapters.base import AgencyAnswer, AgencyRequest
from gateway.decision.rules import CaseState
from gateway.fanout import slots as slots_module
from gateway.fanout.agencies import standin_agencies
from gateway.fanout.breakers import BreakerRule, Breakers, MemoryBreakerStore
from gateway.fanout.dispatch import Dispatcher, RetryPolicy
from gateway.fanout.slots import SLOTS_PER_DISPATCHER, DeliverySlots
from gateway.resources import shipped
from tests.fakes.adapters import ScriptedAdapter, answer
from tests.fakes.clock import FakeClock
from tests.fakes.store import InMemoryStore
from tests.unit.fanout.conftest import decide, lodge

WAIT_S = 10.0  # a deadline for what should happen at once, never a sleep


class HeldAdapter(ScriptedAdapter):
    """Answers only once the test lets it: an agency still thinking."""

    def __init__(self, code: str) -> None:
        super().__init__(code, [answer()])
        self.called = threading.Event()
        self.answer = threading.Event()

    def send(self, request: AgencyRequest) -> AgencyAnswer:
        self.called.set()
        if not self.answer.wait(WAIT_S):
            raise AssertionError("the test never let the agency answer")
        return super().send(request)


def dispatcher(
    store: InMemoryStore, clock: FakeClock, *adapters: ScriptedAdapter, slots: int
) -> Dispatcher:
    return Dispatcher(
        store,
        {a.spec.code: a for a in adapters},
        decide,
        clock,
        retry=RetryPolicy(max_attempts=3, base_s=1.0, cap_s=4.0),
        lease_s=60.0,
        breakers=Breakers(MemoryBreakerStore(), BreakerRule(failure_threshold=100), clock),
        deadline_s=3600.0,
        name="test-worker",
        slots=slots,
    )


def settled(store: InMemoryStore, case_id: str) -> bool:
    return store.cases[case_id].state is not CaseState.QUEUED


def test_a_slow_agency_does_not_hold_up_the_next_claim(
    store: InMemoryStore, clock: FakeClock
) -> None:
    slow, quick = HeldAdapter("customs"), ScriptedAdapter("health", [answer()])
    worker = dispatcher(store, clock, slow, quick, slots=4)
    lodge(store, "customs", app_id="NSW-20261123-0000000001")

    assert worker.step() == 1  # returns with the call to customs still in flight
    assert slow.called.wait(WAIT_S)
    lodge(store, "health", app_id="NSW-20261123-0000000002")
    assert worker.step() == 1  # claimed while customs is still thinking
    try:
        assert wait_until(lambda: settled(store, "NSW-20261123-0000000002-health"))
        assert not settled(store, "NSW-20261123-0000000001-customs")
    finally:
        slow.answer.set()
        worker.finish(WAIT_S)
    assert store.cases["NSW-20261123-0000000001-customs"].state is CaseState.GRANTED
    assert worker.slots.busy == 0


def test_no_more_is_claimed_than_there_are_free_slots(
    store: InMemoryStore, clock: FakeClock
) -> None:
    held = [HeldAdapter(code) for code in ("customs", "health", "police")]
    worker = dispatcher(store, clock, *held, slots=2)
    lodge(store, "customs", "health", "police")

    assert worker.step() == 2
    try:
        assert worker.slots.wait_free(0) == 0  # both slots busy: the third case stays queued
        unclaimed = [d for d in store.deliveries.values() if d.lease_until is None]
        assert len(unclaimed) == 1
    finally:
        for adapter in held:
            adapter.answer.set()
    assert worker.slots.wait_free(WAIT_S) >= 1  # a slot freed: the next turn claims the last
    assert worker.step() == 1
    worker.finish(WAIT_S)
    assert all(c.state is CaseState.GRANTED for c in store.cases.values())


def test_finish_ends_a_wait_for_a_slot_and_waits_for_what_is_in_flight() -> None:
    slots = DeliverySlots(1)
    release, waited = threading.Event(), []

    def held() -> None:
        release.wait(WAIT_S)

    slots.run(held, "held")
    waiter = threading.Thread(target=lambda: waited.append(slots.wait_free()))
    waiter.start()
    release.set()
    assert slots.close(WAIT_S)
    waiter.join(WAIT_S)
    assert waited in ([0], [1]) and slots.wait_free() == 0  # closed: no more work taken
    started: list[str] = []
    assert not slots.run(lambda: started.append("late"), "late")  # a claim made as it closed
    assert started == [] and slots.busy == 0  # is left to its lease
    with pytest.raises(ValueError, match="at least one"):
        DeliverySlots(0)


def wait_until(done: Callable[[], bool], deadline_s: float = WAIT_S) -> bool:
    """Poll `done` until it holds or the deadline passes."""
    give_up = time.monotonic() + deadline_s
    while time.monotonic() < give_up:
        if done():
            return True
        time.sleep(0.01)
    return False


def test_one_dispatcher_threads_slots_send_an_application_to_every_agency_at_once() -> None:
    """A process's slots are `SLOTS_PER_DISPATCHER` per dispatcher thread: one thread's worth
    holds the whole fan-out of an application routed to every agency, and room for a second.
    At 4 a worker's slots ran out at a few applications in flight and their cases waited for a
    slot while the agencies idled (issue 17: intake -> first claim 0.5 s with one worker)."""
    agencies = standin_agencies(shipped("mappings"))
    assert len(agencies) >= 5
    assert len(agencies) + 1 <= SLOTS_PER_DISPATCHER


def test_a_slots_thread_carries_one_delivery_after_another_and_ends_when_idle() -> None:
    """Deliveries one after another run on the same thread (none started per delivery), each
    named as the delivery it runs; with nothing more to do the thread ends by itself."""
    slots = DeliverySlots(4)
    ran: list[tuple[threading.Thread, str]] = []
    for n in range(6):
        done = threading.Event()

        def work(n: int = n, done: threading.Event = done) -> None:
            me = threading.current_thread()
            ran.append((me, me.name))
            done.set()

        assert slots.run(work, f"delivery-{n}")
        assert done.wait(WAIT_S)
        assert wait_until(lambda: slots.busy == 0)
    assert [name for _, name in ran] == [f"delivery-{n}" for n in range(6)]
    thread = ran[0][0]
    assert all(t is thread for t, _ in ran)
    thread.join(WAIT_S)  # idle: it ends by itself, without close
    assert not thread.is_alive()
    assert slots.close(WAIT_S)


def test_deliveries_at_once_each_get_a_thread_and_close_ends_them_all() -> None:
    slots = DeliverySlots(3)
    release = threading.Event()
    started = threading.Semaphore(0)
    names: set[str] = set()

    def held() -> None:
        names.add(threading.current_thread().name)
        started.release()
        release.wait(WAIT_S)

    for n in range(3):
        assert slots.run(held, f"held-{n}")
    for _ in range(3):
        assert started.acquire(timeout=WAIT_S)  # all three in flight at once
    assert names == {"held-0", "held-1", "held-2"}
    release.set()
    assert slots.close(WAIT_S)
    assert not any(t.name.startswith("held-") for t in threading.enumerate() if t.is_alive())


def test_close_ends_the_wait_of_a_thread_waiting_for_its_next_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A thread that finished its delivery waits for the next one; `close` wakes it to end
    rather than leaving it to its idle timeout (here longer than the close may wait)."""
    monkeypatch.setattr(slots_module, "IDLE_S", 3600.0)
    slots = DeliverySlots(2)
    ran: list[threading.Thread] = []
    for n in range(2):
        done = threading.Event()

        def work(done: threading.Event = done) -> None:
            ran.append(threading.current_thread())
            done.set()

        assert slots.run(work, f"delivery-{n}")
        assert done.wait(WAIT_S)
        assert wait_until(lambda: slots.busy == 0)
    assert ran[0] is ran[1]  # the waiting thread took the second delivery
    assert slots.close(WAIT_S)
    ran[0].join(WAIT_S)
    assert not ran[0].is_alive()
