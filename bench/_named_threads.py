"""Run `nsw` with every Python thread's name given to its operating-system thread. Not a test.

    python bench/_named_threads.py serve --dev --port P

Python 3.11 does not name OS threads, so /proc/<pid>/task/<tid>/comm says "python" for all of
them; this wrapper sets each thread's name (prctl PR_SET_NAME, at most 15 bytes: the end of the
Python name, where ours say what the thread does) as it starts, then runs the CLI as usual. The
status-read bench reads the names to say which thread an idle gateway spends its CPU in. The
gateway itself is unchanged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
from typing import Any

PR_SET_NAME = 15


def _install() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    original = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def named(self: threading.Thread, *args: Any) -> Any:
        short = self.name.split(" (")[0]  # "Thread-7 (process_request_thread)" -> "Thread-7"
        libc.prctl(PR_SET_NAME, short.encode()[-15:], 0, 0, 0)
        return original(self, *args)

    threading.Thread._bootstrap_inner = named  # type: ignore[attr-defined]


if __name__ == "__main__":
    _install()
    from gateway.cli.main import main

    sys.argv[0] = "nsw"
    main()
