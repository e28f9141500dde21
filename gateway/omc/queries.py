"""Read models for the applications pages: frozen views for the templates, read through the
`ApplicationViews` port, with what an agency officer may not see left out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

from gateway.omc.ports import (
    SINCE_HOURS,
    ApplicationLine,
    ApplicationViews,
    Filters,
    TrailEntry,
    TrailLine,
)
from gateway.omc.roles import Officer

__all__ = ["SINCE_HOURS", "Filters", "SignIn", "application_messages", "list_applications"]
LIST_LIMIT = 200
SIGN_IN_KINDS = ("omc-sign-in", "omc-sign-out")


def list_applications(
    views: ApplicationViews, who: Officer, f: Filters, now: dt.datetime
) -> list[ApplicationLine]:
    """The newest applications matching `f`; an agency officer sees only those with a case of
    their agency, and of each only the cases they may see."""
    agency = who.agency if who.agency else f.agency
    since = now - dt.timedelta(hours=SINCE_HOURS[f.since]) if f.since in SINCE_HOURS else None
    return [
        dataclasses.replace(a, cases=tuple(c for c in a.cases if who.sees_agency(c.agency)))
        for a in views.applications(f, agency, since, LIST_LIMIT)
    ]


def application_messages(
    views: ApplicationViews, application_id: str, who: Officer
) -> list[TrailLine]:
    """The application's trail messages (not their bodies), those of other agencies' cases left out
    for an agency officer."""
    return [
        m
        for m in views.trail_lines(application_id)
        if m.case_id is None or who.sees_agency(m.case_agency)
    ]


def message_row(views: ApplicationViews, seq: int) -> TrailEntry | None:
    return views.trail_entry(seq)


@dataclass(frozen=True)
class SignIn:
    """One OMC sign-in, refusal or sign-out as its trail entry records it."""

    seq: int | None  # None: queued, not yet in the log
    at: str | None
    username: str | None
    role: str | None
    agency: str | None
    method: str | None
    outcome: str | None
    client_address: str | None
    certificate_sha256: str | None


def sign_ins(views: ApplicationViews, limit: int = 50) -> list[SignIn]:
    """The latest OMC sign-ins, refusals and sign-outs in the trail, newest first."""
    found = []
    for entry in views.latest_of_kinds(SIGN_IN_KINDS, limit):
        detail = json.loads(entry.body)
        fields = {f.name: detail.get(f.name) for f in dataclasses.fields(SignIn) if f.name != "seq"}
        found.append(SignIn(seq=entry.seq, **fields))
    return found
