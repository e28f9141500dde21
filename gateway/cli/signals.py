"""Ending a serving or supervising command cleanly on Ctrl-C or a service stop."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def stop_on_signals(stop: Callable[[], object]) -> None:
    """Call `stop` (on a thread of its own: it may block, a signal handler must not) at SIGTERM or
    SIGINT, so a command that serves or supervises ends cleanly on Ctrl-C or a service stop."""

    def handler(_signum: int, _frame: object) -> None:
        threading.Thread(target=stop, daemon=True).start()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
