"""The query of a trader's list of applications, its opaque paging cursor, and the answer's shape.

`GET /api/v1/applications?declarant=&state=&since=&limit=&cursor=` (the route is in
gateway.web.api). Every parameter is checked here before it reaches the query:

- `declarant`: a BIN (check digit) the signer may act for (the route authorises it);
- `state`: one of the states an application's status shows;
- `since`: an RFC 3339 time with an offset (RFC 3339 §5.6), compared in UTC;
- `limit`: 1..100, default 20;
- `cursor`: only what this gateway issued for this very list. It is the base64url sort key of the
  last item shown, `(received_at, id)`, with an HMAC-SHA256 over that key *and* the list's
  filters, under a key derived (HKDF, RFC 5869) from the gateway's signing key: the same on every
  web node, never stored. A forged or edited cursor is a 400 before any query runs, and a genuine
  one can only make the query continue after a (time, id) pair it once showed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import request, url_for

from gateway.clock import iso
from gateway.domain.identifiers import Bin
from gateway.domain.views import APPLICATION_STATES, ApplicationPage, SortKey
from gateway.errors import InvalidParameter, InvalidValue
from gateway.limits import APPLICATION_ID, Text, shown
from gateway.trail.format import precise
from gateway.web.params import query_choice, query_int, query_text

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
SINCE = Text("an RFC 3339 time such as 2026-12-07T09:30:00Z", 40, r"[0-9A-Za-z:.+-]")
CURSOR = Text("a cursor from a 'next' link of this list", 256, r"[A-Za-z0-9_.-]")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_PRECISE = "%Y-%m-%dT%H:%M:%S.%fZ"  # gateway.trail.format.precise
_CONTEXT = b"nsw application-list cursor v1"


@dataclass(frozen=True)
class ListQuery:
    declarant: str
    state: str | None
    since: dt.datetime | None
    limit: int
    after: SortKey | None

    def filters(self) -> bytes:
        """What a cursor is bound to: the same list, whatever page."""
        since = precise(self.since) if self.since else ""
        return "\n".join((self.declarant, self.state or "", since)).encode()


def read_declarant() -> str:
    """The `declarant` query parameter as a checked BIN, or a 400 `invalid-parameter` problem."""
    raw = request.args.get("declarant") or ""
    if not raw:
        raise InvalidParameter(
            "Name the company whose applications to list: ?declarant=<BIN>.",
            parameter="declarant",
        )
    try:
        return str(Bin(raw))
    except InvalidValue as exc:
        raise InvalidParameter(exc.detail, parameter="declarant") from exc


def read_query(declarant: str, cursor_key: bytes) -> ListQuery:
    """The rest of the query, each value checked (400 `invalid-parameter` otherwise)."""
    state = query_choice("state", APPLICATION_STATES)
    since = _since(query_text("since", SINCE))
    limit = query_int("limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    assert limit is not None
    query = ListQuery(declarant, state, since, limit, None)
    raw = query_text("cursor", CURSOR)
    if raw is None:
        return query
    return ListQuery(declarant, state, since, limit, read_cursor(raw, query, cursor_key))


def _since(raw: str | None) -> dt.datetime | None:
    if raw is None:
        return None
    try:
        if not _RFC3339.fullmatch(raw):
            raise ValueError(raw)
        return dt.datetime.fromisoformat(raw.upper().replace("Z", "+00:00")).astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidParameter(
            f"'since' must be an RFC 3339 time with an offset, such as 2026-12-07T09:30:00Z, "
            f"not {shown(raw)}.",
            parameter="since",
        ) from exc


# --- the cursor ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def cursor_key(signing_key_pem: bytes) -> bytes:
    """The cursor MAC key, derived from the gateway's signing key (RFC 5869) so that every web
    node agrees on it and it is never the signing key itself."""
    return HKDF(hashes.SHA256(), 32, salt=None, info=_CONTEXT).derive(signing_key_pem)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, query: ListQuery, sort_key: bytes) -> bytes:
    return hmac.new(
        key, _CONTEXT + b"\n" + query.filters() + b"\n" + sort_key, hashlib.sha256
    ).digest()


def make_cursor(key: bytes, query: ListQuery, after: SortKey) -> str:
    sort_key = f"{precise(after.received_at)} {after.id}".encode()
    return f"{_b64(sort_key)}.{_b64(_mac(key, query, sort_key))}"


def read_cursor(raw: str, query: ListQuery, key: bytes) -> SortKey:
    """The sort key a genuine cursor of this list carries; 400 for anything else."""
    refused = InvalidParameter(
        "'cursor' is not one this gateway gave for this list (it was changed, or the other "
        "parameters differ from the page that gave it). Follow the 'next' link as it is, or "
        "start again without a cursor.",
        parameter="cursor",
    )
    # 1. Two base64url parts: the sort key and its MAC.
    try:
        encoded, mac_text = raw.split(".")
        sort_key, mac = _unb64(encoded), _unb64(mac_text)
    except (ValueError, binascii.Error) as exc:
        raise refused from exc
    # 2. The MAC, in constant time, before the sort key is even parsed.
    if not hmac.compare_digest(mac, _mac(key, query, sort_key)):
        raise refused
    # 3. The sort key itself: what the gateway wrote, so a failure here is a bug or a key leak.
    try:
        moment, application_id = sort_key.decode("ascii").split(" ")
        received_at = dt.datetime.strptime(moment, _PRECISE).replace(tzinfo=dt.UTC)
    except (UnicodeDecodeError, ValueError) as exc:
        raise refused from exc
    if not APPLICATION_ID.matches(application_id):
        raise refused
    return SortKey(received_at, application_id)


# --- the answer ---------------------------------------------------------------------------------


def answer(query: ListQuery, page: ApplicationPage, key: bytes) -> dict[str, Any]:
    """The JSON answer: the items, and a `next` link while more follow."""
    items = [
        {
            "id": item.id,
            "trader_reference": item.trader_reference,
            "state": item.state,
            "verdict": item.verdict,
            "received_at": iso(item.received_at),
            "decided_at": iso(item.decided_at) if item.decided_at else None,
            "links": {
                "status": url_for("api.status", application_id=item.id),
                "decision": url_for("api.decision", application_id=item.id),
            },
        }
        for item in page.items
    ]
    links: dict[str, str] = {}
    if page.more and page.last is not None:
        args: dict[str, Any] = {"declarant": query.declarant, "state": query.state}
        args["limit"] = query.limit
        if query.since is not None:
            args["since"] = precise(query.since)
        args["cursor"] = make_cursor(key, query, page.last)
        links["next"] = url_for("api.applications", **{k: v for k, v in args.items() if v})
    return {"declarant": query.declarant, "items": items, "links": links}
