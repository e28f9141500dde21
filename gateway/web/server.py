"""`nsw serve`: the gateway under gunicorn, run in-process (`gunicorn.app.base.BaseApplication`).

Each worker process builds its own app after the fork (no `preload_app`): an SQLAlchemy engine's
pooled connections must not be shared across a fork, and threads started before a fork do not
exist in the child. So every worker has its own engine and, unless NSW_DISPATCHER_THREADS=0, its
own dispatcher and notifier threads; they share work with each other (and with `nsw worker`
processes) only through the database's leased claims, exactly as several web nodes do. The master
checks the configuration and migrates the schema once before it forks, so a broken setting ends
`nsw serve` with a sentence instead of workers dying one after another.

A client that sends half a request and then nothing would hold a worker thread for ever: gunicorn
blocks on the socket with no timeout once the first bytes arrived. Every client socket here has a
read timeout (NSW_WEB_TIMEOUT_S), after which the connection is dropped.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers import gthread

WORKER_CLASS = "gateway.web.server.BoundedThreadWorker"
_SOCKET_TIMEOUT_ENV = "NSW_WEB_TIMEOUT_S"


@dataclass(frozen=True)
class WebSettings:
    """The web server's own settings (NSW_WEB_*)."""

    workers: int = 2
    threads: int = 8
    timeout_s: float = 30.0  # a silent client socket, and a silent worker, after this long
    keepalive_s: float = 5.0
    graceful_s: float = 30.0  # how long a stopping worker may finish its requests

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebSettings:
        env = os.environ if env is None else env
        return cls(
            workers=int(env.get("NSW_WEB_WORKERS", cls.workers)),
            threads=int(env.get("NSW_WEB_THREADS", cls.threads)),
            timeout_s=float(env.get(_SOCKET_TIMEOUT_ENV, cls.timeout_s)),
            keepalive_s=float(env.get("NSW_WEB_KEEPALIVE_S", cls.keepalive_s)),
            graceful_s=float(env.get("NSW_WEB_GRACEFUL_S", cls.graceful_s)),
        )


class _ReadDeadlineSocket(socket.socket):
    """A client socket whose blocking reads and writes give up after `timeout_s`. gunicorn puts
    the socket back to blocking mode (no timeout) before each request; here blocking means
    "blocking up to the timeout". A read that times out looks like a reset connection, which
    gunicorn closes quietly."""

    timeout_s: float = 30.0

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(self.timeout_s)
        else:
            super().setblocking(False)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        try:
            return super().recv(bufsize, flags)
        except TimeoutError as exc:
            raise ConnectionResetError(
                errno.ECONNRESET, f"no data from the client within {self.timeout_s:g} s"
            ) from exc


class BoundedThreadWorker(gthread.ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker with a read timeout on every client socket."""

    def accept(self, listener: socket.socket) -> None:
        real_accept = listener.accept
        timeout_s = float(os.environ.get(_SOCKET_TIMEOUT_ENV, WebSettings.timeout_s))

        def accept() -> tuple[socket.socket, Any]:
            client, address = real_accept()
            bounded = _ReadDeadlineSocket(
                client.family, client.type, client.proto, fileno=client.detach()
            )
            bounded.timeout_s = timeout_s
            return bounded, address

        # The listener is a plain socket object of this worker; gunicorn calls `accept` on it.
        listener_proxy = _AcceptProxy(listener, accept)
        super().accept(listener_proxy)


class _AcceptProxy:
    """The listener, with `accept` replaced (socket objects do not take new attributes)."""

    def __init__(self, listener: socket.socket, accept: Any) -> None:
        self._listener = listener
        self.accept = accept

    def __getattr__(self, name: str) -> Any:
        return getattr(self._listener, name)


class GatewayServer(BaseApplication):  # type: ignore[misc]
    """gunicorn, configured from `WebSettings`, serving `create_app()` in each worker."""

    def __init__(self, bind: str, settings: WebSettings) -> None:
        self.bind = bind
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options: dict[str, Any] = {
            "bind": self.bind,
            "workers": s.workers,
            "threads": s.threads,
            "worker_class": WORKER_CLASS,
            # gunicorn takes whole seconds here; the client sockets take the exact timeout.
            "timeout": max(1, round(s.timeout_s)),
            "keepalive": max(1, round(s.keepalive_s)),
            "graceful_timeout": max(1, round(s.graceful_s)),
            "preload_app": False,  # each worker builds its own engine and threads
            "worker_exit": _worker_exit,
            # No gunicornc control socket: it lives at one path per user, so two servers on one
            # machine (tests, a demo beside a dev server) would take it from each other.
            "control_socket_disable": True,
            "accesslog": None,
            "errorlog": "-",
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from gateway.app import create_app
        from gateway.heap import settle_heap

        app = create_app()
        settle_heap()
        return app


def _worker_exit(_server: Any, worker: Any) -> None:
    """Stop this worker's dispatcher threads and close its engine when it stops."""
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("nsw")
    if services is not None:
        services.close()
