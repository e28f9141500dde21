"""The garbage collector set for a long-running gateway process.

A gateway process builds a large, long-lived heap at start (WSDL and schema objects, XSLT, the
message catalogs, SQLAlchemy's metadata, certificates): with CPython's defaults every full
collection walks all of it again, 40 to 100 ms of one core holding the GIL, which lands on whatever
application is in flight (measured with `gc.callbacks` in `bench/fanout_bench.py`'s gateway).

`settle_heap()` is called once by each serving process after it is built (gunicorn worker,
`nsw worker`, `nsw serve --dev`), never by `create_app` itself: tests build many apps in one process
and must have theirs collected. It collects what start-up left behind, moves the survivors to the
permanent generation (`gc.freeze`, CPython 3.7+, meant for exactly this), and
raises the first generation's threshold so that a request's short-lived objects are collected in
fewer, larger sweeps. Cycles among the frozen objects are never collected; they live as long as
the process anyway.
"""

from __future__ import annotations

import gc

#: Allocations (net of deallocations) before a young-generation sweep; CPython's default is 700.
YOUNG_THRESHOLD = 50_000
#: Young sweeps before a middle one, middle before a full one (CPython: 10 and 10).
MIDDLE_EVERY = 20
FULL_EVERY = 20


def settle_heap() -> None:
    """Freeze the start-up heap and set the thresholds for serving (idempotent)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_EVERY, FULL_EVERY)
