"""Group settling: the answers a dispatcher's delivery slots have in hand at the same moment are
recorded in one transaction (`Outbox.settle_all`), as a database's group commit does.

Each delivery thread hands its answer to `SettleGroup.settle` and waits for it to be recorded.
When no group is being recorded, the thread records its answer at once, alone: nothing waits for
answers not yet in hand, so one application at a time pays no latency for this. Answers that
arrive while a group is being recorded wait for it to end, and the first of them then records
all that are waiting, together. With agencies that answer almost at once, an application's cases
are settled in one or two transactions instead of one each, and its decision is read and composed
once per transaction instead of once per case.

A failure of the group loses none of its answers. A lost database connection
(`DatabaseUnavailable`) fails every answer of the group, as it would have failed each alone: the
transaction committed or not, unknown, and recording an answer again could store it twice; each
claim's lease brings its delivery back if nothing was committed. Any other exception rolled the
whole group back, so each answer is then recorded again on its own, in its own transaction: the
answer that fails fails alone, with its own exception, and the others are recorded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.decision.ports import Decide
from gateway.errors import DatabaseUnavailable
from gateway.fanout.ports import Answered, Outbox

log = logging.getLogger(__name__)

Recorded = str | None | Exception  # the verdict the answer's settle made, or why it failed


def settle_together(store: Outbox, decide: Decide, answers: Sequence[Answered]) -> list[Recorded]:
    """Record `answers` in one transaction; on a failure other than a lost connection, each
    on its own. Returns, per answer, its verdict (`Outbox.settle_all`) or its exception."""
    try:
        return list(store.settle_all(answers, decide))
    except DatabaseUnavailable as lost:  # committed or not, unknown: nothing is tried again
        return [lost] * len(answers)
    except Exception as exc:
        if len(answers) == 1:
            return [exc]
        log.warning(
            "settling %d answers together failed (%r); settling each on its own", len(answers), exc
        )
    recorded: list[Recorded] = []
    for answer in answers:
        try:
            recorded.append(store.settle_all([answer], decide)[0])
        except Exception as exc:
            recorded.append(exc)
    return recorded


@dataclass
class _Waiting:
    answer: Answered
    done: bool = False
    recorded: Recorded = field(default=None)

    def result(self) -> str | None:
        if isinstance(self.recorded, Exception):
            raise self.recorded
        return self.recorded


class SettleGroup:
    """Answers of the threads of one dispatcher, recorded together when they arrive together."""

    def __init__(self, store: Outbox, decide: Decide) -> None:
        self.store = store
        self.decide = decide
        self._changed = threading.Condition()
        self._waiting: list[_Waiting] = []
        self._recording = False

    @property
    def waiting(self) -> int:
        """How many answers wait for the group being recorded to end."""
        with self._changed:
            return len(self._waiting)

    def settle(self, answer: Answered) -> str | None:
        """Record `answer` (with those of other threads waiting then) and return its verdict;
        raises what recording it raised."""
        (recorded,) = self.settle_many([answer])
        if isinstance(recorded, Exception):
            raise recorded
        return recorded

    def settle_many(self, answers: Sequence[Answered]) -> list[Recorded]:
        """Record `answers` (a turn's, gathered by one thread) in the group as `settle` records
        one, so that a dispatcher never has two settle transactions of its own at once; returns
        each one's verdict or exception. All of them join the same group."""
        mine = [_Waiting(answer) for answer in answers]
        with self._changed:
            self._waiting.extend(mine)
            while self._recording and not mine[0].done:
                self._changed.wait()
            if mine[0].done:  # another thread recorded them in its group
                return [waiting.recorded for waiting in mine]
            self._recording = True
            group, self._waiting = self._waiting, []
        try:
            recorded = settle_together(self.store, self.decide, [w.answer for w in group])
            for waiting, outcome in zip(group, recorded, strict=True):
                waiting.recorded = outcome
        except BaseException as exc:  # not an Exception (settle_together returns those)
            for waiting in group:
                waiting.recorded = RuntimeError(f"settling was interrupted: {exc!r}")
            raise
        finally:
            with self._changed:
                for waiting in group:
                    waiting.done = True
                self._recording = False
                self._changed.notify_all()  # the done return; one of the others records next
        return [waiting.recorded for waiting in mine]
