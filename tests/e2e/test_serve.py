"""`nsw serve` tells the truth and runs a production server: it refuses to start while an agency
has no endpoint (unless told to start degraded), and under gunicorn a client that sends half a
request and then nothing is cut off after NSW_WEB_TIMEOUT_S instead of holding a thread for ever."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from devtools.processes import free_port, wait_for_port
from gateway.cli.main import main
from gateway.pki.dev import DevPki
from tests.paths import REPO_ROOT

TIMEOUT_S = 1.0  # NSW_WEB_TIMEOUT_S of the server under test
DEADLINE_S = 15.0  # how long the test waits for the server to cut a connection


def test_serve_refuses_to_start_without_agency_endpoints(pki: DevPki, tmp_path: Path) -> None:
    env = {
        "NSW_PKI_DIR": str(pki.directory),
        "NSW_DATABASE_URL": f"sqlite:///{tmp_path}/nsw.db",
        "NSW_AGENCY_CUSTOMS_URL": "http://127.0.0.1:9",
        "NSW_AGENCY_TRANSPORT_URL": "http://127.0.0.1:9",
    }
    result = CliRunner().invoke(main, ["serve", "--port", str(free_port())], env=env)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert (
        "No endpoint is configured for health, phytosanitary, police, veterinary" in result.output
    )
    assert "NSW_AGENCY_HEALTH_URL, NSW_AGENCY_PHYTOSANITARY_URL, NSW_AGENCY_POLICE_URL" in (
        result.output
    )
    assert "--allow-missing-agencies" in result.output


@pytest.fixture(scope="module")
def gunicorn_gateway(
    pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int, Path]]:
    """`nsw serve` (gunicorn: one worker, two threads, 1 s socket timeout), degraded on purpose."""
    tmp_path = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {
        **os.environ,
        "NSW_PKI_DIR": str(pki.directory),
        "NSW_DATABASE_URL": f"sqlite:///{tmp_path}/nsw.db",
        "NSW_DISPATCHER_THREADS": "0",
        "NSW_WEB_WORKERS": "1",
        "NSW_WEB_THREADS": "2",
        "NSW_WEB_TIMEOUT_S": str(TIMEOUT_S),
    }
    log = tmp_path / "serve.log"
    command = ["serve", "--port", str(port), "--allow-missing-agencies"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli.main", *command],
            env=env,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process, deadline_s=60)
        yield f"http://127.0.0.1:{port}", port, log
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _closed_by_server(sock: socket.socket) -> bool:
    """Read until the server closes the connection; False if it is still open at the deadline."""
    give_up = time.monotonic() + DEADLINE_S
    while time.monotonic() < give_up:
        sock.settimeout(max(0.01, give_up - time.monotonic()))
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
    return False


def test_gunicorn_serves_and_says_it_is_degraded(
    gunicorn_gateway: tuple[str, int, Path],
) -> None:
    url, _, log = gunicorn_gateway
    assert requests.get(f"{url}/healthz", timeout=30).status_code == 200
    ready = requests.get(f"{url}/readyz", timeout=30)
    assert ready.status_code == 503
    assert ready.json()["checks"]["agencies"] == (
        "no endpoint: customs, health, phytosanitary, police, transport, veterinary"
    )
    text = log.read_text()
    assert "DEGRADED: No endpoint is configured" in text and "gunicorn" in text


def test_half_a_header_is_cut_off(gunicorn_gateway: tuple[str, int, Path]) -> None:
    url, port, _ = gunicorn_gateway
    with socket.create_connection(("127.0.0.1", port)) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert _closed_by_server(slow), "the server kept a half-sent header open"
    assert requests.get(f"{url}/healthz", timeout=30).status_code == 200  # still serving


def test_half_a_body_is_cut_off(gunicorn_gateway: tuple[str, int, Path]) -> None:
    url, port, _ = gunicorn_gateway
    with socket.create_connection(("127.0.0.1", port)) as slow:
        slow.sendall(
            b"POST /api/v1/applications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/xml\r\nContent-Length: 5000\r\n\r\n<Application>"
        )
        assert _closed_by_server(slow), "the server kept a half-sent body open"
    assert requests.get(f"{url}/healthz", timeout=30).status_code == 200
