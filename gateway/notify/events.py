"""Progress events for traders (issue 19, item 5): what happened to an application before and
after its decision, POSTed to the trader's notification URL like the decision itself.

Each event has a stable `type` a trader subscribes to (stored with its notification URL), and is
a small JSON document the gateway signs on the wire (RFC 9421 with Content-Digest, as every
notification) and delivers through the same outbox-like rows, retries and fencing as a decision:

| type | when |
| --- | --- |
| `decision` | the signed decision (its XML, not JSON), and each decision made anew |
| `case.granted`, `case.refused`, `case.inspection` | an agency settled its case so |
| `case.document-requested` | an agency's answer asks for a document (`document_requested`) |
| `checkpoint.exit` | the vehicle carrying the application left through the checkpoint |
| `application.amended` | a new version was accepted: which agencies are asked again |
| `application.withdrawn` | the withdrawal was accepted: the reason and the agencies cancelling |

A subscription that chose nothing (registered before events existed) gets decisions only.
Pure: no web, no database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

DECISION = "decision"
CASE_GRANTED, CASE_REFUSED = "case.granted", "case.refused"
CASE_INSPECTION, CASE_DOCUMENT = "case.inspection", "case.document-requested"
CHECKPOINT_EXIT = "checkpoint.exit"
AMENDED, WITHDRAWN = "application.amended", "application.withdrawn"
EVENT_TYPES = (
    DECISION,
    CASE_GRANTED,
    CASE_REFUSED,
    CASE_INSPECTION,
    CASE_DOCUMENT,
    CHECKPOINT_EXIT,
    AMENDED,
    WITHDRAWN,
)
DEFAULT_EVENTS: tuple[str, ...] = (DECISION,)
MEDIA_TYPE = "application/json"
# What an answer mapping puts in a case's `extra` when the agency asks for a document.
DOCUMENT_REQUESTED = "document_requested"
_BY_STATE = {"granted": CASE_GRANTED, "refused": CASE_REFUSED, "inspection": CASE_INSPECTION}


def read_events(value: Any) -> tuple[str, ...]:
    """The event types a trader chose (the `events` member of its registration): a non-empty
    array of distinct known types, kept in the catalogue's order. ValueError saying what is wrong."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError("events must be a non-empty array of event types")
    unknown = sorted({v for v in value if v not in EVENT_TYPES})
    if unknown:
        raise ValueError(f"unknown event type {unknown[0][:40]!r}")
    return tuple(t for t in EVENT_TYPES if t in value)


def chosen(stored: str | None) -> tuple[str, ...]:
    """The types a stored subscription chose (its `events` column: a JSON array, or NULL)."""
    if not stored:
        return DEFAULT_EVENTS
    try:
        return read_events(json.loads(stored))
    except ValueError:
        return DEFAULT_EVENTS


def stored(events: Iterable[str]) -> str:
    return json.dumps(list(events))


def case_event_types(state: str, extra: Mapping[str, Any] | None) -> list[str]:
    """The events an agency's settled answer raises: its outcome, and a document request."""
    found = [_BY_STATE[state]] if state in _BY_STATE else []
    if extra and extra.get(DOCUMENT_REQUESTED):
        found.append(CASE_DOCUMENT)
    return found


def case_detail(case_id: str, agency: str, state: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """What a case event says: the case, its agency and what the agency answered."""
    extra = fields.get("extra") or {}
    return {
        "caseId": case_id,
        "agency": agency,
        "state": state,
        "permitNumber": fields.get("permit_number"),
        "validUntil": fields.get("valid_until"),
        "reasons": [{"code": c, "text": t} for c, t in fields.get("reasons") or []],
        "inspection": fields.get("inspection"),
        "documentRequested": extra.get(DOCUMENT_REQUESTED) if isinstance(extra, dict) else None,
        "answerSha256": fields.get("answer_sha256"),
    }


def event_document(
    event_type: str,
    application_id: str,
    trader_reference: str,
    at: str,
    detail: Mapping[str, Any],
) -> bytes:
    """The event's body, canonical JSON. Its `id` is derived from what happened (type,
    application, detail), so the same happening gives the same id however often it is told."""
    ident = json.dumps([event_type, application_id, dict(detail)], sort_keys=True, default=str)
    document = {
        "id": "evt-" + hashlib.sha256(ident.encode()).hexdigest()[:32],
        "type": event_type,
        "applicationId": application_id,
        "traderReference": trader_reference,
        "at": at,
        **detail,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
