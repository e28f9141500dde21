"""A stand-in makes one answer per idempotency key, whatever the concurrency, and making the answer
for one case never holds up the answers for other cases (calls to one agency run side by side)."""

from __future__ import annotations

import threading

import pytest

from simulators.common import IdempotentAnswers

WAIT_S = 10.0  # a deadline for what should happen at once


def _in_thread(work: threading.Thread) -> threading.Thread:
    work.daemon = True
    work.start()
    return work


def test_concurrent_requests_for_one_key_get_one_answer_made_once() -> None:
    answers = IdempotentAnswers()
    made: list[int] = []
    first_is_making = threading.Event()
    go_on = threading.Event()

    def make() -> bytes:
        made.append(1)
        first_is_making.set()
        go_on.wait(WAIT_S)
        return b"permit 1"

    results: list[tuple[bytes, bool]] = []
    threads = [
        _in_thread(threading.Thread(target=lambda: results.append(answers.answer("case-1", make))))
    ]
    assert first_is_making.wait(WAIT_S)
    threads += [
        _in_thread(threading.Thread(target=lambda: results.append(answers.answer("case-1", make))))
        for _ in range(3)
    ]
    go_on.set()
    for t in threads:
        t.join(WAIT_S)
    assert len(made) == 1
    assert sorted(results) == [(b"permit 1", False)] + [(b"permit 1", True)] * 3


def test_an_answer_being_made_does_not_hold_up_another_case() -> None:
    answers = IdempotentAnswers()
    other_answered = threading.Event()

    def slow() -> bytes:
        # Finishes only once case-2 has been answered meanwhile (or gives up after the test's own
        # deadline, so a stand-in that serialises its answers fails the test, not races it).
        other_answered.wait(2 * WAIT_S)
        return b"slow"

    def quick() -> None:
        answers.answer("case-2", lambda: b"quick")
        other_answered.set()

    first = _in_thread(threading.Thread(target=answers.answer, args=("case-1", slow)))
    second = _in_thread(threading.Thread(target=quick))
    assert other_answered.wait(WAIT_S), "case-2 waited for case-1's answer to be made"
    first.join(WAIT_S)
    second.join(WAIT_S)
    assert not first.is_alive() and not second.is_alive()
    assert answers.answer("case-1", lambda: b"again") == (b"slow", True)
    assert answers.answer("case-2", lambda: b"again") == (b"quick", True)


def test_a_failed_answer_is_not_kept_and_is_made_again() -> None:
    answers = IdempotentAnswers()

    def broken() -> bytes:
        raise RuntimeError("the registry is down")

    with pytest.raises(RuntimeError, match="registry is down"):
        answers.answer("case-1", broken)
    assert answers.answer("case-1", lambda: b"permit") == (b"permit", False)
