"""Live updates by Server-Sent Events. Each open page holds one stream; the stream polls a cheap
change marker (newest trail seq, newest case and visit changes, breaker states) every
`POLL_S` on a short-lived connection — nothing is held between polls, so many waiting browsers
cost no database connections, and changes made by other processes (workers, other web nodes)
show up too. The page reloads only the parts that changed (htmx), never the whole page."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

from flask import Response
from sqlalchemy import func, select

from gateway.bootstrap import Services
from gateway.omc.auth import requires, services
from gateway.omc.blueprint import bp
from gateway.omc.roles import Perm
from gateway.storage.models import CaseRow, CheckpointVisitRow, MessageRow, TransitRow

log = logging.getLogger(__name__)
POLL_S = 0.4
KEEPALIVE_S = 3.0  # also how soon a stream whose browser left notices
STREAM_S = 55.0  # the browser reconnects by itself (EventSource), so no stream lives for ever


def change_marker(svc: Services) -> str:
    with svc.store.engine.connect() as c:
        seq = c.scalar(select(func.max(MessageRow.seq)))
        case = c.scalar(select(func.max(CaseRow.updated_at)))
        visits = c.scalar(select(func.count(CheckpointVisitRow.id)))
        transits = c.scalar(select(func.count(TransitRow.id)))
    breakers = {k: v["state"] for k, v in svc.breakers.snapshot().items()}
    return json.dumps([seq, str(case), visits, transits, breakers], sort_keys=True)


def stream(svc: Services, poll_s: float = POLL_S, lifetime_s: float = STREAM_S) -> Iterator[str]:
    yield "retry: 1000\n\n"
    last, quiet_since = "", time.monotonic()
    ends = time.monotonic() + lifetime_s
    # `Services.close` disposes the engine, which gives it a new pool: a stream that sees that ends,
    # instead of opening connections for a gateway that is shutting down.
    pool = svc.store.engine.pool
    while time.monotonic() < ends and svc.store.engine.pool is pool:
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
@requires(Perm.VIEW_AGENCIES)
def events() -> Response:
    response = Response(stream(services()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # no proxy buffering of the stream
    return response
