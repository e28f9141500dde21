"""`nsw standins`: the stand-in agencies of mappings/agencies.toml and the treasury (`simulators/`, each its
own process) and a trader inbox on 127.0.0.1, for using the gateway locally. Prints the `export NSW_AGENCY_<CODE>_URL=...`
lines the gateway needs (and writes them to an env file on request), then runs until SIGINT or
SIGTERM and stops everything it started."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from devtools.processes import ProcessGroup, free_port
from gateway.cli.signals import stop_on_signals
from gateway.fanout.agencies import standin_agencies
from gateway.resources import shipped
from simulators.trader_inbox import start_trader_inbox
from simulators.treasury import ACCOUNT as TREASURY_ACCOUNT


def env_lines(urls: dict[str, str], inbox_url: str, treasury_url: str | None = None) -> list[str]:
    """Shell lines that point the gateway at the stand-ins."""
    lines = [f"export NSW_AGENCY_{code.upper()}_URL={url}" for code, url in urls.items()]
    if treasury_url:
        lines += [
            "# The stand-in treasury: payment orders are paid into its (invented) account.",
            f"export NSW_TREASURY_URL={treasury_url}",
            f"export NSW_PAYEE_ACCOUNT={TREASURY_ACCOUNT}",
        ]
    lines += [
        "# A trader's system that receives decisions: `nsw notify-url set BIN $NSW_TRADER_INBOX_URL`",
        "# (the gateway sends to plain http on 127.0.0.1 only with NSW_NOTIFY_ALLOW_HTTP=1 and",
        "# NSW_NOTIFY_ALLOW_PRIVATE=1).",
        f"export NSW_TRADER_INBOX_URL={inbox_url}",
    ]
    return lines


def run_standins(
    pki_dir: Path,
    base_port: int | None,
    env_file: Path | None,
    echo: Callable[[str], None],
    note: Callable[[str], None],
    gateway_url: str = "http://127.0.0.1:8080",
) -> None:
    """Start the stand-ins, announce them, wait for a stop signal, stop them."""
    stopped = threading.Event()
    stop_on_signals(stopped.set)
    logdir = Path(tempfile.mkdtemp(prefix="nsw-standins-"))
    group = ProcessGroup(logdir)
    inbox = None
    try:
        urls = {}
        agencies = list(standin_agencies(shipped("mappings")))
        for n, code in enumerate(agencies):
            port = base_port + n if base_port else free_port()
            args = ["-m", "simulators", code, "--port", str(port), "--pki-dir", str(pki_dir)]
            urls[code] = group.start(code, args, port, {})
        port = base_port + len(agencies) + 1 if base_port else free_port()
        callback = f"{gateway_url.rstrip('/')}/api/v1/payments/callback"
        args = ["-m", "simulators", "treasury", "--port", str(port), "--pki-dir", str(pki_dir),
                "--callback-url", callback]  # fmt: skip
        treasury_url = group.start("treasury", args, port, {}, ready="/openapi.json")
        inbox_port = base_port + len(agencies) if base_port else 0
        inbox = start_trader_inbox(port=inbox_port, pki_dir=pki_dir)
        lines = env_lines(urls, inbox.url, treasury_url)
        if env_file is not None:
            env_file.parent.mkdir(parents=True, exist_ok=True)
            # Written whole once every stand-in answers: its existence means "ready".
            partial = env_file.with_name(env_file.name + ".part")
            partial.write_text("\n".join(lines) + "\n")
            partial.replace(env_file)
        for line in lines:
            echo(line)
        where = f" (and in {env_file})" if env_file else ""
        note(f"stand-ins running{where}; logs in {logdir}; Ctrl-C stops them")
        while not stopped.wait(0.5):  # wake up now and then: signals arrive between waits
            pass
    finally:
        if inbox is not None:
            inbox.stop()
        group.stop()
        if env_file is not None:
            env_file.unlink(missing_ok=True)  # the URLs are dead now
        note("stand-ins stopped")
