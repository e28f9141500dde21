"""The demo waits for each server to be ready (not just listening), says what it waits for, and
names the one that never got ready."""

from __future__ import annotations

import pytest

from devtools.processes import DEFAULT_READY_S, NotReady, ProcessGroup, free_port, ready_deadline_s

# A server that listens but is never ready: every GET answers 503, like /readyz without a database.
NEVER_READY = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class NotReady(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), NotReady).serve_forever()
"""


def test_a_server_that_never_gets_ready_is_named_with_what_it_answered(tmp_path) -> None:  # type: ignore[no-untyped-def]
    said: list[str] = []
    group = ProcessGroup(tmp_path / "logs", ready_s=1.0, say=said.append)
    port = free_port()
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        with pytest.raises(NotReady) as refused:
            group.start("gateway", ["-c", NEVER_READY, str(port)], port, {}, "/readyz")
    finally:
        group.stop()
    assert str(refused.value).startswith(
        f"gateway was not ready after 1 s: GET {url} last gave HTTP 503."
    )
    assert "NSW_DEMO_READY_S" in str(refused.value)
    assert said == [f"   waiting for gateway: GET {url} (up to 1 s)"]


def test_a_server_that_exits_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    group = ProcessGroup(tmp_path / "logs", ready_s=60, say=lambda _line: None)
    port = free_port()
    try:
        with pytest.raises(NotReady, match=r"^customs exited with status 3 before it was ready$"):
            group.start("customs", ["-c", "raise SystemExit(3)"], port, {})
    finally:
        group.stop()


def test_the_deadline_is_configurable() -> None:
    assert ready_deadline_s({}) == DEFAULT_READY_S == 120
    assert ready_deadline_s({"NSW_DEMO_READY_S": "300"}) == 300
    with pytest.raises(NotReady, match="NSW_DEMO_READY_S must be a number"):
        ready_deadline_s({"NSW_DEMO_READY_S": "soon"})
