"""The release loop (gateway.billing.releases) on an in-memory queue and a scripted customs: an
idle loop reads the queue only when woken, when something is due, or at the safety-net look; an
unanswered release is asked again with growing backoff; an answer closes it; a request customs
can never accept is given up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from adapters.base import AgencyCallFailed, GuaranteeReleased
from gateway.billing.release_ports import ReleaseClaim
from gateway.billing.releases import SAFETY_LOOK_S, ReleaseLoop, next_try
from gateway.fanout.wakeup import Wakeup
from gateway.trail.messages import Message

T0 = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Queue:
    clock: Clock
    due: dt.datetime | None = None
    reads: int = 0
    answers: list[tuple[int, bool, list[str]]] = field(default_factory=list)
    failures: list[tuple[int, dt.datetime | None, list[str]]] = field(default_factory=list)
    attempts: int = 0

    def next_due(self) -> dt.datetime | None:
        self.reads += 1
        return self.due

    def claim(self, worker: str, lease_s: float, limit: int = 4) -> list[ReleaseClaim]:
        if self.due is None or self.due > self.clock():
            return []
        self.attempts += 1
        self.due = None  # leased
        return [ReleaseClaim(7, "NSW-1", "KZ-BG-1", "withdrawn", self.attempts, worker, 1)]

    def answered(self, claim: ReleaseClaim, released: bool, messages: Sequence[Message]) -> None:
        self.answers.append((claim.id, released, [m.kind for m in messages]))

    def failed(
        self,
        claim: ReleaseClaim,
        error: str,
        retry_at: dt.datetime | None,
        messages: Sequence[Message],
    ) -> None:
        self.failures.append((claim.id, retry_at, [m.kind for m in messages]))
        self.due = retry_at


@dataclass
class Customs:
    script: list[AgencyCallFailed | None]  # None: answers "released"
    asked: int = 0

    def release_guarantee(
        self, application_id: str, reference: str, reason: str
    ) -> GuaranteeReleased:
        step = self.script[min(self.asked, len(self.script) - 1)]
        self.asked += 1
        if step is not None:
            raise step
        return GuaranteeReleased(True, b"<ReleaseGuaranteeRequest/>", b"<Status>released</Status>")


def _loop(queue: Queue, customs: Customs, clock: Clock, wakeup: Wakeup) -> ReleaseLoop:
    return ReleaseLoop(queue, customs, clock, wakeup=wakeup, lease_s=60, retry_base_s=0.5,
                       name="test:release")  # fmt: skip


def test_an_idle_loop_reads_the_queue_only_when_woken_or_at_the_safety_look() -> None:
    clock, wakeup = Clock(), Wakeup()
    queue = Queue(clock)
    loop = _loop(queue, Customs([None]), clock, wakeup)
    assert loop.step() == 0 and queue.reads == 1  # the first turn looks
    for _ in range(5):
        assert loop.step() == 0
    assert queue.reads == 1  # nothing committed, nothing due: no read
    queue.due = T0
    wakeup.signal()  # a commit queued a release
    assert loop.step() == 1 and queue.reads == 2 and queue.answers
    assert loop.step() == 0 and queue.reads == 3  # after a delivery: look for more once
    assert loop.step() == 0 and queue.reads == 3
    clock.now += dt.timedelta(seconds=SAFETY_LOOK_S + 1)
    loop.step()
    loop.step()
    assert queue.reads == 4  # one safety-net look (work another process queued, on SQLite)


def test_an_unanswered_release_is_asked_again_later_until_customs_answers() -> None:
    clock, wakeup = Clock(), Wakeup()
    down = AgencyCallFailed("customs: 503", request_bytes=b"<ReleaseGuaranteeRequest/>")
    queue = Queue(clock, due=T0)
    customs = Customs([down, down, None])
    loop = _loop(queue, customs, clock, wakeup)
    assert loop.step() == 1
    first_retry = queue.failures[-1][1]
    assert first_retry is not None and first_retry > T0
    assert queue.failures[-1][2] == ["guarantee-release"]  # the attempt is kept
    assert loop.step() == 0  # not due yet: nothing asked
    clock.now = first_retry
    assert loop.step() == 1 and len(queue.failures) == 2
    second_retry = queue.failures[-1][1]
    assert second_retry is not None
    clock.now = second_retry
    assert loop.step() == 1
    assert queue.answers == [(7, True, ["guarantee-release", "guarantee-release-answer"])]
    assert customs.asked == 3


def test_a_request_customs_can_never_accept_is_given_up() -> None:
    clock, wakeup = Clock(), Wakeup()
    queue = Queue(clock, due=T0)
    broken = AgencyCallFailed("customs: breaks the agency schema", retryable=False)
    loop = _loop(queue, Customs([broken]), clock, wakeup)
    assert loop.step() == 1
    assert queue.failures == [(7, None, [])] and not queue.answers


def test_the_backoff_grows_to_its_cap_and_never_gives_up() -> None:
    bounds = [(next_try(n, T0, 0.5) - T0).total_seconds() for n in (1, 2, 3, 12, 10_000)]
    assert 0.25 <= bounds[0] <= 0.5 and 0.5 <= bounds[1] <= 1.0 and 1.0 <= bounds[2] <= 2.0
    assert 150 <= bounds[3] <= 300 and 150 <= bounds[4] <= 300
