"""Live progress of one application by Server-Sent Events, like the OMC's stream but narrowed to
one application the trader may read: the stream polls the application's own state (its status and
each case's state) on a short-lived read every `POLL_S`, and sends `change` when it differs, so
the page fetches its cases again without a reload. Nothing about any other application — not even
that something changed — reaches the trader."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.bootstrap import Services


log = logging.getLogger(__name__)
POLL_S = 0.5
KEEPALIVE_S = 3.0  # also how soon a stream whose browser left notices
STREAM_S = 55.0  # the browser reconnects by itself (EventSource), so no stream lives for ever


def marker(svc: Services, application_id: str) -> str:
    """What the trader sees change: the application's state, decision and each case's progress."""
    app = svc.store.application(application_id)
    if app is None:
        return json.dumps([None, None, None, []])
    cases = [(c.agency, c.state, c.attempts, c.permit_number, c.last_error) for c in app.cases]
    return json.dumps([app.status, app.verdict, app.decided_at, cases])


def stream(
    svc: Services, application_id: str, poll_s: float = POLL_S, lifetime_s: float = STREAM_S
) -> Iterator[str]:
    yield "retry: 1000\n\n"
    last, quiet_since = "", time.monotonic()
    ends = time.monotonic() + lifetime_s
    pool = svc.store.engine.pool  # `Services.close` gives the engine a new pool: then end
    while time.monotonic() < ends and svc.store.engine.pool is pool:
        try:
            now_marker = marker(svc, application_id)
        except Exception:  # the database went away (shutdown): end; the browser reconnects
            log.warning("portal event stream ended: application unreadable", exc_info=True)
            return
        now = time.monotonic()
        if now_marker != last:
            # Also on the first poll: a change between rendering the page and opening the stream
            # would otherwise be missed. The data says nothing; the page fetches what it shows.
            yield "event: change\ndata: {}\n\n"
            last, quiet_since = now_marker, now
        elif now - quiet_since > KEEPALIVE_S:
            yield ": keep-alive\n\n"
            quiet_since = now
        time.sleep(poll_s)
