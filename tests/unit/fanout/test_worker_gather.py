"""The answers of one turn's deliveries recorded together (`gateway.fanout.worker_gather`): one
transaction for an application's agencies that answer together, and no answer held back by a
slow or failed sibling for longer than the gather wait."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from adapters.base import AgencyCallFailed
from gateway.decision.ports import Decide
from gateway.decision.rules import CaseState
from gateway.fanout.ports import Answered
from gateway.intake.ports import NewApplication
from gateway.observability.request_context import request_id_var
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


class RequestIds(logging.Handler):
    """The dispatcher's log lines with the request id they were written under."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.getMessage(), request_id_var.get()))


def test_each_answers_log_line_carries_its_own_applications_request_id(
    counting: CountingStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    second = "NSW-20261123-0000000002"
    for app_id, request_id in ((APP, "req-first-app"), (second, "req-second-app")):
        counting.create_application(
            NewApplication(
                id=app_id, declarant_bin="210540012341", trader_reference=f"REF-{app_id}",
                procedure="import", body=b"<Application/>", signer_subject="CN=test",
                signer_fingerprint="00" * 32, routing={"customs": []}, request_id=request_id,
            ),
            [],
        )  # fmt: skip
    customs = ScriptedAdapter("customs", [answer(), answer()])
    worker = dispatcher(counting, clock, customs, slots=8)
    heard = RequestIds()
    dispatch_log = logging.getLogger("gateway.fanout.dispatch")
    caplog.set_level(logging.INFO, logger=dispatch_log.name)
    dispatch_log.addHandler(heard)
    try:
        assert worker.step() == 2  # both applications' cases in one turn
        worker.finish(WAIT_S)
    finally:
        dispatch_log.removeHandler(heard)
    assert counting.groups == [2]
    assert sorted(line for line in heard.lines if line[0].startswith("case ")) == [
        (f"case {APP}-customs: granted", "req-first-app"),
        (f"case {second}-customs: granted", "req-second-app"),
    ]
