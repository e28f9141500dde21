"""The README's "Using it" works as written: its shell blocks run in order (the first two keep
running, as in their own terminals), with the port, the PKI and the database moved to a temporary
directory, and its Python recipe for a signed read runs against the same gateway."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.processes import free_port
from tests.gateway_fixtures import AGENCY_CODES
from tests.paths import REPO_ROOT
from tests.polling import wait_until

FENCE = re.compile(r"^```(sh|python)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def using_it() -> list[tuple[str, str]]:
    """(language, code) of each fenced block of the README's "Using it" section, in order."""
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("\n## Using it\n", 1)[1].split("\n## ", 1)[0]
    return FENCE.findall(section)


def localise(code: str, port: int) -> str:
    """The same steps, run with this checkout's interpreter and on a free port."""
    return code.replace("./dev nsw ", f"{sys.executable} -m gateway.cli.main ").replace(
        "8080", str(port)
    )


class Terminal:
    """A block that keeps running, as in its own terminal; stopped like Ctrl-C stops it."""

    def __init__(self, code: str, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                ["bash", "-e", "-c", code],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, to signal it whole
            )

    def alive(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"a terminal block ended early:\n{self.log.read_text()[-3000:]}")
        return True

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    (tmp_path / "samples").symlink_to(REPO_ROOT / "samples")
    env = {
        **os.environ,
        "NSW_PKI_DIR": str(tmp_path / "certs" / "dev"),
        "NSW_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'nsw.db'}",
        "NSW_WEB_WORKERS": "1",  # a lighter server; the steps are the README's
    }
    yield tmp_path, env


def test_the_readme_using_it_section_runs_as_written(
    workdir: tuple[Path, dict[str, str]],
) -> None:
    cwd, env = workdir
    blocks = using_it()
    assert [lang for lang, _ in blocks] == ["sh", "sh", "sh", "python"]
    port = free_port()
    (_, standins), (_, serve), (_, trader), (_, recipe) = blocks
    terminals: list[Terminal] = []
    try:
        terminals.append(Terminal(localise(standins, port), cwd, env, cwd / "terminal-1.log"))
        wait_until(
            lambda: terminals[0].alive() and (cwd / "var" / "standins.env").is_file(),
            deadline_s=120,
            what="the stand-ins' env file",
        )
        terminals.append(Terminal(localise(serve, port), cwd, env, cwd / "terminal-2.log"))
        done = subprocess.run(
            ["bash", "-e", "-c", localise(trader, port)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        logs = "\n".join(t.log.read_text()[-2000:] for t in terminals)
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{logs}"
        assert "accepted: NSW-" in done.stderr
        (receipt,) = cwd.glob("NSW-*.receipt.xml")
        application_id = receipt.name.removesuffix(".receipt.xml")
        assert f"{application_id}: decided, verdict granted" in done.stdout
        decision = (cwd / "decision.xml").read_bytes()
        assert b"<Outcome>granted</Outcome>" in decision

        # The Python recipe: a signed read without the CLI.
        read = subprocess.run(
            [sys.executable, "-c", localise(recipe, port)],
            cwd=cwd,
            env={**env, "PYTHONPATH": str(REPO_ROOT), "ID": application_id},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert read.returncode == 0, read.stderr
        assert read.stdout.strip() == "decided"
    finally:
        ports = (
            [
                int(line.rsplit(":", 1)[1].split("/")[0])
                for line in (cwd / "var" / "standins.env").read_text().splitlines()
                if line.startswith("export ") and "_URL=" in line
            ]
            if (cwd / "var" / "standins.env").is_file()
            else []
        )
        for terminal in reversed(terminals):
            terminal.stop()
    # Ctrl-C stopped the stand-ins and everything they started.
    # One stand-in per agency of agencies.toml, the treasury and the trader inbox.
    assert len(ports) == len(AGENCY_CODES) + 2 and not (cwd / "var" / "standins.env").exists()
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
