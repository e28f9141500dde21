"""The serving processes freeze their start-up heap (gateway/heap.py).

Run in a child interpreter: freezing this test process's heap would keep every later test's
garbage alive."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from gateway import heap


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_settle_heap_moves_the_start_up_heap_out_of_every_collection() -> None:
    out = _run(
        """
        import gc
        from gateway.heap import settle_heap
        before = gc.get_freeze_count()
        settle_heap()
        print(before, gc.get_freeze_count() > 1_000, gc.get_threshold())
        """
    )
    assert out == (f"0 True {(heap.YOUNG_THRESHOLD, heap.MIDDLE_EVERY, heap.FULL_EVERY)}")


def test_a_full_collection_after_settling_walks_only_what_came_after() -> None:
    # gc.get_objects() lists what the collector tracks and walks; frozen objects are not in it.
    out = _run(
        """
        import gc
        import gateway.app  # the gateway's modules, as a serving process has them
        walked_before = len(gc.get_objects())
        from gateway.heap import settle_heap
        settle_heap()
        print(walked_before > 50_000, len(gc.get_objects()) < walked_before // 10)
        """
    )
    assert out == "True True"


def test_the_serving_entry_points_settle_after_building(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.web import server

    calls: list[str] = []

    def create_app() -> str:
        calls.append("built")
        return "app"

    monkeypatch.setattr("gateway.app.create_app", create_app)
    monkeypatch.setattr("gateway.heap.settle_heap", lambda: calls.append("settled"))
    assert server.GatewayServer.load(object.__new__(server.GatewayServer)) == "app"
    assert calls == ["built", "settled"]
