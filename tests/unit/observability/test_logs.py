"""The JSON log line: one JSON object per line, whatever the message holds."""

from __future__ import annotations

import json
import logging

import pytest

from gateway.observability.logs import JsonFormatter
from gateway.observability.request_context import request_id_var

AWKWARD = (
    "plain",
    'quotes " and \\ backslash',
    "new\nline and tab\t and nul \x00 and bell \x07",
    "Қазақстан, Россия, 中文, emoji 🛃",
    "\u2028 line separator, \ud800 lone surrogate",
    "",
)


def _record(message: str, *args: object, thread: str | None = "dispatch-1") -> logging.LogRecord:
    record = logging.LogRecord("gateway.test", logging.INFO, __file__, 1, message, args, None)
    record.threadName = thread
    return record


@pytest.mark.parametrize("text", AWKWARD)
def test_a_plain_line_is_the_json_of_its_fields(text: str) -> None:
    formatter = JsonFormatter()
    token = request_id_var.set(f"req-{text}")
    try:
        line = formatter.format(_record("case %s: %s", text, "granted"))
        # Byte for byte what json.dumps writes, so log shippers see no change of format.
        assert line == json.dumps(formatter._fields(_record("case %s: %s", text, "granted")))
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    assert json.loads(line) == {
        "time": json.loads(line)["time"],
        "level": "INFO",
        "logger": "gateway.test",
        "request_id": f"req-{text}",
        "thread": "dispatch-1",
        "message": f"case {text}: granted",
    }


def test_a_line_without_a_thread_name_says_null() -> None:
    assert json.loads(JsonFormatter().format(_record("x", thread=None)))["thread"] is None


def test_the_time_follows_the_clock_across_seconds() -> None:
    formatter = JsonFormatter()
    first, second = _record("a"), _record("b")
    first.created, second.created = 1_800_000_000.2, 1_800_000_001.7
    times = [json.loads(formatter.format(r))["time"] for r in (first, second, first)]
    expected = [formatter.formatTime(r, "%Y-%m-%dT%H:%M:%S") for r in (first, second, first)]
    assert times == expected and times[0] != times[1]
