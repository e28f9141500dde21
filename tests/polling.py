"""Waiting for something a server does, by polling with a deadline (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(condition: Callable[[], Any], deadline_s: float = 30, what: str = "") -> Any:
    """Return the first truthy value of `condition()`, or fail after `deadline_s` seconds."""
    give_up = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > give_up:
            raise AssertionError(f"not within {deadline_s} s: {what}")
        time.sleep(0.05)
