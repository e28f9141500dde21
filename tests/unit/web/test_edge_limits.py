"""Values bound for a column are refused at parsing when the column could not hold them (issue 15,
item 2): device readings, notice fields, agency permit numbers, and the edge's own helpers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from gateway.checkpoint.errors import InvalidEvent
from gateway.checkpoint.events import parse_stage_event
from gateway.checkpoint.notices import read_notice
from gateway.errors import InvalidParameter, InvalidValue
from gateway.limits import INT63_MAX, NOTE, STATE
from gateway.trust.xmlparse import parse_xml
from gateway.web.params import bounded_int, check_text
from tests.checkpoint.conftest import notice_xml


def _entry(**changes: Any) -> bytes:
    event: dict[str, Any] = {
        "event_id": "entry-00000001", "checkpoint": "KZ-NURZHOLY", "stage": "entry",
        "lane": "L1", "plate": "123ABC02", "measured_at": "2026-11-27T06:00:00+00:00",
        "readings": {},
    }  # fmt: skip
    event.update(changes)
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    "event",
    [
        _entry(checkpoint="KZ-" + "A" * 30),  # 33 characters; the column holds 32
        _entry(readings={"trailer_plate": "T" * 100}),
        _entry(readings={"confidence": "high"}),
        _entry(stage="scan", readings={"anomaly": False, "note": "n" * 2001}),
    ],
)
def test_device_values_past_their_columns_are_invalid(event: bytes) -> None:
    with pytest.raises(InvalidEvent):
        parse_stage_event(event)


def test_device_values_within_their_columns_parse() -> None:
    parsed = parse_stage_event(
        _entry(checkpoint="KZ-" + "A" * 29, readings={"trailer_plate": "45AB02", "confidence": 1})
    )
    assert parsed.readings["trailer_plate"] == "45AB02"


def _notice(version: int, arrival: str) -> Any:
    xml = notice_xml(
        "123ABC02", ["NSW-20261127-0123456789"], reference="N-1", version=version,
        declared_kg=20000, axles=5, transit=None, carrier_bin="210540012341",
        arrival=dt.datetime(2026, 11, 27, 6, tzinfo=dt.UTC),
    ).replace(b"2026-11-27T06:00:00+00:00", arrival.encode())  # fmt: skip
    return parse_xml(xml)


@pytest.mark.parametrize(
    ("version", "arrival", "field"),
    [
        (2**31, "2026-11-27T06:00:00+00:00", "Version"),  # past ArrivalNoticeRow.version
        (1, "10000-01-01T00:00:00+00:00", "ExpectedArrival"),  # xs:dateTime allows it
        (1, "2026-11-27T06:00:00", "ExpectedArrival"),  # no offset
    ],
)
def test_notice_values_past_their_columns_are_invalid(
    version: int, arrival: str, field: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        read_notice(_notice(version, arrival))
    assert caught.value.extensions["field"] == field


def test_bounded_int_takes_ascii_digits_within_range_only() -> None:
    assert bounded_int(str(INT63_MAX), "seq") == INT63_MAX
    for raw in (str(INT63_MAX + 1), "²", "-1", "1e3", "", "9" * 5000):
        with pytest.raises(InvalidParameter, match="'seq' must be a whole number from 0"):
            bounded_int(raw, "seq")


def test_check_text_applies_length_and_characters() -> None:
    assert check_text("escalated", "state", STATE) == "escalated"
    for raw in ("s" * 17, "Escalated", "a\x00"):
        with pytest.raises(InvalidParameter, match="'state' must be a state name"):
            check_text(raw, "state", STATE)
    assert check_text("line one\nline two\ttab", "note", NOTE)
    with pytest.raises(InvalidParameter):
        check_text("bell\x07", "note", NOTE)
