"""Serve a WSGI app (the gateway, a fake agency) on a free port of 127.0.0.1, and stop it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def serving(app: Any, *, port: int = 0, poll_s: float = 0.05, **options: Any) -> Iterator[str]:
    """The app's base URL while it serves on a thread; stopped (and its thread joined) after."""
    server = make_server("127.0.0.1", port, app, threaded=True, **options)
    thread = threading.Thread(target=server.serve_forever, args=(poll_s,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
