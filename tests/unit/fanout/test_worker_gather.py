"""The answers of one turn's deliveries recorded together (`gateway.fanout.worker_gather`): one
transaction for an application's agencies that answer together, and no answer held back by a
slow or failed sibling for longer than the gather wait."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from adapters.base import AgencyCallFailed
from gateway.decision.ports import Decide
from gateway.decision.rules import CaseState
from gateway.fanout.ports import Answered
from tests.fakes.adapters import ScriptedAdapter, answer
from tests.fakes.clock import FakeClock
from tests.fakes.store import InMemoryStore
from tests.unit.fanout.conftest import APP, lodge
from tests.unit.fanout.test_slots import WAIT_S, HeldAdapter, dispatcher, settled, wait_until


class CountingStore(InMemoryStore):
    """The fake store, noting how many answers each `settle_all` (one transaction) recorded."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.groups: list[int] = []

    def settle_all(self, answers: Sequence[Answered], decide: Decide) -> list[str | None]:
        self.groups.append(len(answers))
        return super().settle_all(answers, decide)


@pytest.fixture
def counting(clock: FakeClock) -> CountingStore:
    return CountingStore(clock)


def test_an_applications_answers_are_recorded_in_one_transaction(
    counting: CountingStore, clock: FakeClock
) -> None:
    agencies = [ScriptedAdapter(code, [answer()]) for code in ("customs", "health", "police")]
    worker = dispatcher(counting, clock, *agencies, slots=8)
    lodge(counting, "customs", "health", "police")

    assert worker.step() == 3
    worker.finish(WAIT_S)
    assert all(c.state is CaseState.GRANTED for c in counting.cases.values())
    assert counting.applications[APP].status == "decided"  # in that one transaction
    # Recorded one by one as they came (SettleGroup), the first answer alone: two or three.
    assert counting.groups == [3]


def test_a_slow_agency_holds_the_others_answers_back_no_longer_than_the_gather_wait(
    counting: CountingStore, clock: FakeClock
) -> None:
    slow = HeldAdapter("customs")
    quick = [ScriptedAdapter(code, [answer()]) for code in ("health", "police")]
    worker = dispatcher(counting, clock, slow, *quick, slots=8)
    worker.gather_s = 0.05
    lodge(counting, "customs", "health", "police")

    assert worker.step() == 3
    try:
        assert wait_until(
            lambda: settled(counting, f"{APP}-health") and settled(counting, f"{APP}-police")
        )
        assert not settled(counting, f"{APP}-customs")  # still thinking
    finally:
        slow.answer.set()
        worker.finish(WAIT_S)
    assert counting.cases[f"{APP}-customs"].state is CaseState.GRANTED
    assert counting.groups == [2, 1]  # the two quick ones together, the late one alone


def test_a_failed_sibling_does_not_hold_the_answers_back(
    counting: CountingStore, clock: FakeClock
) -> None:
    down = ScriptedAdapter("customs", [AgencyCallFailed("connection refused")])
    quick = [ScriptedAdapter(code, [answer()]) for code in ("health", "police")]
    worker = dispatcher(counting, clock, down, *quick, slots=8)
    worker.gather_s = 3600.0  # only the end of every sibling can release the first answer
    lodge(counting, "customs", "health", "police")

    assert worker.step() == 3
    try:
        assert wait_until(
            lambda: settled(counting, f"{APP}-health") and settled(counting, f"{APP}-police")
        )
    finally:
        worker.finish(WAIT_S)
    assert counting.groups == [2]
    assert counting.cases[f"{APP}-customs"].state is CaseState.QUEUED  # to be tried again
    assert "connection refused" in (counting.cases[f"{APP}-customs"].last_error or "")
