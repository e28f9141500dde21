"""The JSON log keeps a failure's cause: a 500 is one line with the exception's type, message and
stack, under the request id the client was given."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from gateway.observability.logs import JsonFormatter


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the gateway's JSON handler writes, captured: one JSON object per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    gateway_log = logging.getLogger("gateway")
    gateway_log.addHandler(handler)
    yield stream
    gateway_log.removeHandler(handler)


def test_a_500_is_logged_with_its_cause_and_request_id(
    app_factory: Callable[..., Flask], json_lines: io.StringIO
) -> None:
    app = app_factory()

    def broken() -> str:
        raise RuntimeError("the ledger is on fire")

    app.add_url_rule("/broken", "broken", broken)
    answer = app.test_client().get("/broken", headers={"X-Request-Id": "trace-50050050"})
    assert answer.status_code == 500 and "fire" not in answer.get_data(as_text=True)

    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    (failure,) = [line for line in lines if line["logger"] == "gateway.web.problems"]
    assert failure["request_id"] == "trace-50050050"
    assert failure["exc"]["type"] == "builtins.RuntimeError"
    assert failure["exc"]["message"] == "the ledger is on fire"
    assert "Traceback (most recent call last)" in failure["exc"]["stack"]
    assert "in broken" in failure["exc"]["stack"]  # the frame that raised


def test_a_line_without_an_exception_has_no_exc_field(json_lines: io.StringIO) -> None:
    logging.getLogger("gateway.test").warning("plain %s", "line")
    (line,) = [json.loads(x) for x in json_lines.getvalue().splitlines()]
    assert line["message"] == "plain line" and "exc" not in line
