"""Run a stand-in agency as a real HTTP server (werkzeug) in a daemon thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from flask import Flask
from werkzeug.serving import BaseWSGIServer

from simulators import (
    configured,
    customs,
    health,
    phytosanitary,
    police,
    transport,
    veterinary,
)
from simulators.callbacks import CallbackSender
from simulators.common import CaseBook, SimulatorOptions
from simulators.keepalive import KeepAliveServer

FACTORIES: dict[str, Callable[[SimulatorOptions], Flask]] = {
    "customs": customs.create_app,
    "transport": transport.create_app,
    "police": police.create_app,
    "veterinary": veterinary.create_app,
    "phytosanitary": phytosanitary.create_app,
    "health": health.create_app,
}


class ServingThread:
    """A werkzeug server serving in a daemon thread: `url`, `stop()`, usable with `with`."""

    def __init__(self, server: BaseWSGIServer, name: str) -> None:
        self._server = server
        self.url = f"http://{server.host}:{server.server_port}"
        # A short poll interval: stop() returns within 50 ms instead of werkzeug's 0.5 s.
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice. Kept-alive connections end
        too: a stopped agency answers nothing more."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(10)
        if isinstance(self._server, KeepAliveServer):
            self._server.close_connections()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class RunningAgency(ServingThread):
    """A started simulator: `url` to call it, `options` to change its faults live, `stop()`."""

    def __init__(self, code: str, server: BaseWSGIServer, options: SimulatorOptions) -> None:
        self.code = code
        self.options = options
        # Callbacks this agency sent (answer_later): their target, status and answer.
        app: Any = server.app
        self.callbacks: CallbackSender = app.extensions["callbacks"]
        # The cases it saw, the permits it issued, superseded and cancelled (issue 19).
        self.cases: CaseBook | None = app.extensions.get("cases")
        super().__init__(server, f"sim-{code}")

    def stop(self) -> None:
        self.callbacks.stop()
        super().stop()


def start_agency(
    code: str, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> RunningAgency:
    """Start the simulator `code` (one of `FACTORIES`: the agencies of mappings/agencies.toml) on
    host:port (0 = a free port). `options` are `SimulatorOptions` fields: latency_s, error_rate, outage, pki_dir,
    answer_later, callback_delay_s, callback_first, tamper, fault."""
    try:
        factory = FACTORIES[code]
    except KeyError:
        raise ValueError(f"no simulator {code!r}; known: {', '.join(sorted(FACTORIES))}") from None
    settings = SimulatorOptions(**options)
    server = KeepAliveServer(host, port, factory(settings))
    return RunningAgency(code, server, settings)


def start_configured_agency(
    config_file: Path, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> RunningAgency:
    """Start a REST agency described by a TOML file (simulators/configured.py)."""
    config = configured.load(config_file)
    settings = SimulatorOptions(**options)
    server = KeepAliveServer(host, port, configured.create_app(config, settings))
    return RunningAgency(config["code"], server, settings)
