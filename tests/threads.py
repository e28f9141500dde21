"""Waiting for the threads a test started to end (`tests/conftest.py::_nothing_left_open`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def join_stray(
    stray: Callable[[], list[threading.Thread]], deadline_s: float
) -> list[threading.Thread]:
    """Join each thread `stray()` names until none is left or `deadline_s` passes; the ones still
    running then. Joined, not polled: the wait ends the moment the last thread does (a server's
    request thread finishing after its answer was sent, a stand-in's kept-alive connection
    closed by the gateway), instead of at the next turn of a polling loop."""
    give_up = time.monotonic() + deadline_s
    while (left := stray()) and time.monotonic() < give_up:
        left[0].join(max(0.0, give_up - time.monotonic()))
    return stray()
