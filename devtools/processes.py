"""Start and stop the demo's real server processes (stand-in agencies and the gateway)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

# How long a started server may take to become ready. A loaded machine (CI, several test runs at
# once) can take well over 30 s to import and migrate; NSW_DEMO_READY_S changes it.
DEFAULT_READY_S = 120.0


class NotReady(RuntimeError):
    """A started server did not become ready in time, or exited; the message names which one,
    what was asked of it, and what it last answered."""


def ready_deadline_s(env: Mapping[str, str] | None = None) -> float:
    """NSW_DEMO_READY_S from `env` (default: the process environment), else DEFAULT_READY_S."""
    value = (os.environ if env is None else env).get("NSW_DEMO_READY_S", "")
    try:
        return float(value) if value else DEFAULT_READY_S
    except ValueError:
        raise NotReady(f"NSW_DEMO_READY_S must be a number of seconds, not {value!r}") from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], deadline_s: float = 30.0) -> None:
    give_up = time.monotonic() + deadline_s
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError(f"process {process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {deadline_s:.0f} s")


def wait_until_ready(
    name: str,
    url: str,
    process: subprocess.Popen[bytes],
    deadline_s: float,
    say: Callable[[str], None] = print,
) -> None:
    """Poll `GET url` until it answers below 500 (a server up; /readyz answers 503 until the
    database and signing identity are there). Says once what it waits for; raises `NotReady`
    naming `name` when `process` exits or `deadline_s` passes."""
    say(f"   waiting for {name}: GET {url} (up to {deadline_s:g} s)")
    give_up = time.monotonic() + deadline_s
    last = "no answer yet"
    while True:
        if process.poll() is not None:
            raise NotReady(f"{name} exited with status {process.returncode} before it was ready")
        try:
            answer = requests.get(url, timeout=2)
            if answer.status_code < 500:
                return
            last = f"HTTP {answer.status_code}"
        except requests.RequestException as exc:
            last = f"no answer ({type(exc).__name__})"
        if time.monotonic() > give_up:
            raise NotReady(
                f"{name} was not ready after {deadline_s:g} s: GET {url} last gave {last}. "
                "Set NSW_DEMO_READY_S to wait longer on a loaded machine."
            )
        time.sleep(0.2)


@dataclass
class ProcessGroup:
    """Server processes started together and stopped together (SIGTERM, then SIGKILL)."""

    logdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ready_s: float = field(default_factory=ready_deadline_s)
    say: Callable[[str], None] = print

    def start(
        self, name: str, args: list[str], port: int, env: Mapping[str, str], ready: str = "/"
    ) -> str:
        """Start `args` under Python and wait until `GET <its URL><ready>` answers (see
        `wait_until_ready`); returns its base URL."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        with (self.logdir / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                [sys.executable, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
            )
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(name, url + ready, process, self.ready_s, self.say)
        return url

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
