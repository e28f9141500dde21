"""The teardown check's wait for a test's threads (`tests.threads.join_stray`)."""

from __future__ import annotations

import threading

from tests.threads import join_stray


def _alive(threads: list[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threads if t.is_alive()]


def test_threads_that_end_are_waited_for_and_none_is_left() -> None:
    go = threading.Event()
    threads = [threading.Thread(target=go.wait, name=f"ending-{n}") for n in range(3)]
    for t in threads:
        t.start()
    threading.Timer(0.05, go.set).start()  # they end while join_stray waits
    assert join_stray(lambda: _alive(threads), deadline_s=30) == []


def test_a_thread_still_running_at_the_deadline_is_named() -> None:
    release = threading.Event()
    stuck = threading.Thread(target=release.wait, name="stuck")
    stuck.start()
    try:
        assert join_stray(lambda: _alive([stuck]), deadline_s=0.05) == [stuck]
    finally:
        release.set()
        stuck.join(10)


def test_a_thread_started_while_waiting_is_waited_for_too() -> None:
    threads: list[threading.Thread] = []
    go = threading.Event()

    def first() -> None:
        second = threading.Thread(target=go.wait, name="second")
        threads.append(second)
        second.start()

    threads.append(threading.Thread(target=first, name="first"))
    threads[0].start()
    threading.Timer(0.05, go.set).start()
    assert join_stray(lambda: _alive(threads), deadline_s=30) == []
