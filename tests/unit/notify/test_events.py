"""The catalogue of traders' progress events (gateway/notify/events.py): which types a trader may
choose, which a case's answer raises, and an event's stable id."""

from __future__ import annotations

import json

import pytest

from gateway.notify import events as ev


def test_a_choice_is_kept_in_catalogue_order_and_unknown_types_are_refused() -> None:
    assert ev.read_events(["checkpoint.exit", "decision"]) == ("decision", "checkpoint.exit")
    for bad in ([], ["decision", "case.exploded"], "decision", [None], None):
        with pytest.raises(ValueError):
            ev.read_events(bad)


def test_a_subscription_that_chose_nothing_gets_decisions_only() -> None:
    assert ev.chosen(None) == ("decision",)
    assert ev.chosen("not json") == ("decision",)
    assert ev.chosen(ev.stored(["case.granted"])) == ("case.granted",)


@pytest.mark.parametrize(
    ("state", "extra", "raised"),
    [
        ("granted", {}, ["case.granted"]),
        ("refused", None, ["case.refused"]),
        ("inspection", {}, ["case.inspection"]),
        ("pending", {}, []),
        ("escalated", {}, []),
        ("queued", {"document_requested": "veterinary certificate"}, ["case.document-requested"]),
        (
            "inspection",
            {"document_requested": "CMR"},
            ["case.inspection", "case.document-requested"],
        ),
    ],
)
def test_what_an_answer_raises(state: str, extra: dict[str, str] | None, raised: list[str]) -> None:
    assert ev.case_event_types(state, extra) == raised


def test_the_same_happening_has_the_same_id_and_another_another() -> None:
    detail = ev.case_detail(
        "APP-1-health", "health", "granted",
        {"permit_number": "P-1", "reasons": [["r", "why"]], "extra": {}, "answer_sha256": "ab"},
    )  # fmt: skip
    first = json.loads(
        ev.event_document("case.granted", "APP-1", "REF", "2026-01-01T00:00:00Z", detail)
    )
    again = json.loads(
        ev.event_document("case.granted", "APP-1", "REF", "2026-01-02T00:00:00Z", detail)
    )
    other = json.loads(
        ev.event_document("case.refused", "APP-1", "REF", "2026-01-01T00:00:00Z", detail)
    )
    assert first["id"] == again["id"] != other["id"]
    assert first["type"] == "case.granted" and first["reasons"] == [{"code": "r", "text": "why"}]
    assert first["permitNumber"] == "P-1" and first["applicationId"] == "APP-1"
