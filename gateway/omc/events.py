"""Live updates by Server-Sent Events. Each open page holds one stream; the stream polls a cheap
change marker (newest trail message and seq, newest case and visit changes, breaker states) every
`POLL_S` on a short-lived connection — nothing is held between polls, so many waiting browsers
cost no database connections, and changes made by other processes (workers, other web nodes)
show up too. The page reloads only the parts that changed (htmx), never the whole page."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flask import Response

from gateway.omc.auth import requires, services
from gateway.omc.blueprint import bp
from gateway.omc.roles import Perm
from gateway.web.live_refresh import live_refresh

if TYPE_CHECKING:
    from gateway.bootstrap import Services

log = logging.getLogger(__name__)
POLL_S = 0.4
KEEPALIVE_S = 3.0  # also how soon a stream whose browser left notices
STREAM_S = 55.0  # the browser reconnects by itself (EventSource), so no stream lives for ever


def change_marker(svc: Services) -> str:
    breakers = {k: v["state"] for k, v in svc.breakers.snapshot().items()}
    return json.dumps([*svc.omc.changes.marker(), breakers], sort_keys=True)


def stream(svc: Services, poll_s: float = POLL_S, lifetime_s: float = STREAM_S) -> Iterator[str]:
    yield "retry: 1000\n\n"
    last, quiet_since = "", time.monotonic()
    ends = time.monotonic() + lifetime_s
    # `Services.close` closes the database: a stream that sees that ends, instead of opening
    # connections for a gateway that is shutting down.
    serving = svc.omc.changes.serving()
    while time.monotonic() < ends and svc.omc.changes.serving() is serving:
        try:
            marker = change_marker(svc)
        except Exception:  # the database went away (shutdown): end; the browser reconnects
            log.warning("OMC event stream ended: change marker unavailable", exc_info=True)
            return
        now = time.monotonic()
        if marker != last:
            # Also on the first poll: whatever changed between rendering the page and opening the
            # stream would otherwise be missed.
            yield f"event: change\ndata: {marker}\n\n"
            last, quiet_since = marker, now
        elif now - quiet_since > KEEPALIVE_S:
            yield ": keep-alive\n\n"
            quiet_since = now
        time.sleep(poll_s)


@bp.get("/events")
@live_refresh
@requires(Perm.VIEW_AGENCIES)
def events() -> Response:
    response = Response(stream(services()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # no proxy buffering of the stream
    return response
