"""Answers that arrive while a group is being recorded are recorded together, next; one that
arrives alone is recorded at once; a lost connection is never followed by a second try."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from adapters.base import AgencyCallFailed
from gateway.decision.ports import Decide
from gateway.decision.rules import CaseState
from gateway.errors import DatabaseUnavailable
from gateway.fanout.ports import Answered, Claim
from gateway.fanout.settling import SettleGroup, settle_together
from tests.fakes.adapters import ScriptedAdapter, answer
from tests.fakes.clock import FakeClock
from tests.fakes.store import InMemoryStore
from tests.polling import wait_until
from tests.unit.fanout.conftest import APP, decide, lodge
from tests.unit.fanout.test_dispatch import dispatcher


class GatedStore(InMemoryStore):
    """Records which answers each `settle_all` got; the first one waits for `go`."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.groups: list[list[str]] = []
        self.entered, self.go = threading.Event(), threading.Event()

    def settle_all(self, answers: Sequence[Answered], decide: Decide) -> list[str | None]:
        self.groups.append(sorted(a.claim.agency for a in answers))
        if len(self.groups) == 1:
            self.entered.set()
            assert self.go.wait(10), "the test never let the first group go"
        return super().settle_all(answers, decide)


def granted(claim: Claim) -> Answered:
    return Answered(claim, CaseState.GRANTED, {}, [])


def test_answers_arriving_while_a_group_is_recorded_are_recorded_together_next(
    clock: FakeClock,
) -> None:
    store = GatedStore(clock)
    lodge(store, "customs", "health", "police")
    claims = {c.agency: c for c in store.claim("w1", 60.0, limit=3)}
    group = SettleGroup(store, decide)
    verdicts: dict[str, str | None] = {}

    def settle(agency: str) -> None:
        verdicts[agency] = group.settle(granted(claims[agency]))

    first = threading.Thread(target=settle, args=("customs",))
    first.start()
    assert store.entered.wait(10)  # alone: recorded at once, waiting for nothing
    others = [threading.Thread(target=settle, args=(a,)) for a in ("health", "police")]
    for t in others:
        t.start()
    wait_until(lambda: group.waiting >= 2, 10, "the other answers queued")
    store.go.set()
    for t in (first, *others):
        t.join(10)
    assert store.groups == [["customs"], ["health", "police"]]
    assert verdicts["customs"] is None
    assert sorted(str(verdicts[a]) for a in ("health", "police")) == ["None", "released"]
    app = store.application(APP)
    assert app is not None and app.verdict == "released"


def test_a_gathered_turn_joins_the_group_and_never_settles_beside_it(clock: FakeClock) -> None:
    # A turn's answers gathered by one thread (`settle_many`) wait while the dispatcher's group
    # is being recorded and are then recorded with whatever else waits: one dispatcher never has
    # two settle transactions at once (each costs a decision read and a commit).
    store = GatedStore(clock)
    lodge(store, "customs", "health", "police", "transport")
    claims = {c.agency: c for c in store.claim("w1", 60.0, limit=4)}
    group = SettleGroup(store, decide)
    gathered: list[object] = []
    first = threading.Thread(target=group.settle, args=(granted(claims["customs"]),))
    first.start()
    assert store.entered.wait(10)
    turn = threading.Thread(
        target=lambda: gathered.extend(
            group.settle_many([granted(claims["health"]), granted(claims["police"])])
        )
    )
    late = threading.Thread(target=group.settle, args=(granted(claims["transport"]),))
    turn.start()
    late.start()
    wait_until(lambda: group.waiting >= 3, 10, "the gathered answers queued")
    store.go.set()
    for t in (first, turn, late):
        t.join(10)
    assert store.groups == [["customs"], ["health", "police", "transport"]]
    assert len(gathered) == 2 and not any(isinstance(v, Exception) for v in gathered)


class LostStore(InMemoryStore):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.tries = 0

    def settle_all(self, answers: Sequence[Answered], decide: Decide) -> list[str | None]:
        self.tries += 1
        raise DatabaseUnavailable("the connection was lost at commit")


def test_a_lost_connection_fails_the_group_without_a_second_try(clock: FakeClock) -> None:
    # The transaction may have committed unseen: each answer settled again on its own could
    # store its messages twice. Each claim's lease brings back what was not committed.
    store = LostStore(clock)
    lodge(store, "customs", "health")
    claims = store.claim("w1", 60.0, limit=2)
    recorded = settle_together(store, decide, [granted(c) for c in claims])
    assert store.tries == 1
    assert all(isinstance(r, DatabaseUnavailable) for r in recorded) and len(recorded) == 2
    with pytest.raises(DatabaseUnavailable, match="lost at commit"):
        SettleGroup(store, decide).settle(granted(claims[0]))


class CountingStore(InMemoryStore):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.groups: list[list[str]] = []

    def settle_all(self, answers: Sequence[Answered], decide: Decide) -> list[str | None]:
        self.groups.append(sorted(a.claim.agency for a in answers))
        return super().settle_all(answers, decide)


def test_a_turn_delivered_in_one_thread_records_its_answers_together(clock: FakeClock) -> None:
    store = CountingStore(clock)
    lodge(store, "customs", "health", "police")
    adapters = [ScriptedAdapter(a, [answer()]) for a in ("customs", "health", "police")]
    worker = dispatcher(store, clock, *adapters)
    assert worker.run_once(batch=8, in_threads=False) == 3
    assert store.groups == [["customs", "health", "police"]]
    assert worker.run_once(batch=8, in_threads=False) == 0
    assert store.groups == [["customs", "health", "police"]]  # an empty turn records nothing
    app = store.application(APP)
    assert app is not None and app.verdict == "released"


def test_answers_in_hand_are_recorded_when_a_later_delivery_of_the_turn_raises(
    clock: FakeClock,
) -> None:
    store = CountingStore(clock)
    lodge(store, "customs", "health")
    customs = ScriptedAdapter("customs", [answer()])
    health = ScriptedAdapter("health", [AgencyCallFailed("down")])
    worker = dispatcher(store, clock, customs, health)

    def reschedule_fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the store is gone")

    # The second delivery (health, in claim order) fails, and its failure cannot be recorded.
    store.reschedule = reschedule_fails  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="the store is gone"):
        worker.run_once(batch=8, in_threads=False)
    assert store.groups == [["customs"]]  # customs' answer was recorded, not left to its lease
    assert store.cases[f"{APP}-customs"].state is CaseState.GRANTED
