"""A declarant's applications, newest first, a page at a time (the trader's own list).

Keyset paging on (received_at, id) descending: a page continues strictly after the last row the
previous page showed, so applications lodged between two pages neither repeat nor shift the
rest, and each page is one range scan of ix_applications_declarant_received
(declarant_bin, received_at, id) however deep the caller pages. Callers get frozen
`ApplicationSummary` values, never ORM rows.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select, tuple_

from gateway.domain.views import APPLICATION_STATES as APPLICATION_STATES
from gateway.domain.views import ApplicationPage as ApplicationPage
from gateway.domain.views import ApplicationSummary as ApplicationSummary
from gateway.domain.views import SortKey as SortKey
from gateway.storage.db import utc
from gateway.storage.models import ApplicationRow

if TYPE_CHECKING:
    from gateway.storage.repository import Store


def list_applications(
    store: Store,
    declarant_bin: str,
    *,
    limit: int,
    state: str | None = None,
    since: dt.datetime | None = None,
    after: SortKey | None = None,
) -> ApplicationPage:
    """At most `limit` of `declarant_bin`'s applications, newest first: received at or after
    `since`, in `state` if given, and strictly after `after` in the list order if given."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    a = ApplicationRow
    query = select(
        a.id, a.trader_reference, a.status, a.verdict, a.received_at, a.decided_at
    ).where(a.declarant_bin == declarant_bin)
    if state is not None:
        query = query.where(a.status == state)
    if since is not None:
        query = query.where(a.received_at >= since.astimezone(dt.UTC))
    if after is not None:
        # A row-value comparison, not `t < T OR (t = T AND id < I)`: PostgreSQL and SQLite
        # (3.15+) both make it a bound of the index range, where the OR is only a filter that
        # reads every newer row again on each deeper page.
        moment = after.received_at.astimezone(dt.UTC)
        query = query.where(tuple_(a.received_at, a.id) < tuple_(moment, after.id))
    # One more than asked: whether it exists says whether to offer a next page.
    query = query.order_by(a.received_at.desc(), a.id.desc()).limit(limit + 1)
    with store.reading() as s:
        rows = s.execute(query).all()
    items = tuple(
        ApplicationSummary(
            id=row.id,
            trader_reference=row.trader_reference,
            state=row.status,
            verdict=row.verdict,
            received_at=utc(row.received_at) or row.received_at,
            decided_at=utc(row.decided_at),
        )
        for row in rows[:limit]
    )
    return ApplicationPage(items, more=len(rows) > limit)
