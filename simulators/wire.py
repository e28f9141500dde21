"""Breaking an answer on the wire: what a crashing agency or a dropped link does to the gateway.

`reset_mid_answer` writes the status line, the headers and half of the body straight to the
client's socket, then aborts the connection (RFC 9293 §3.10.5: close with SO_LINGER set to a zero
timeout sends a RST), so the client's read of the rest of the body fails with "connection reset by
peer". It needs werkzeug's development server, which puts the connection in
`environ["werkzeug.socket"]`.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterable
from typing import Any


def reset_mid_answer(
    environ: dict[str, Any], status: str, headers: Iterable[tuple[str, str]], body: bytes
) -> None:
    """Send `status` ("200 OK"), `headers` and the first half of `body` (Content-Length says the
    whole), then reset the connection. The caller's own response afterwards goes nowhere."""
    sock: socket.socket = environ["werkzeug.socket"]
    framing = ("content-length", "connection", "transfer-encoding")
    lines = [f"HTTP/1.1 {status}"]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() not in framing]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    sock.sendall("\r\n".join(lines).encode("latin-1") + body[: len(body) // 2])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # werkzeug still holds this descriptor (and writes its response to it after the view returns),
    # so the connection cannot simply be closed here: dup2 puts a dead socket in its place, which
    # closes the connection's last descriptor (the kernel sends RST, as SO_LINGER 0 asks) without
    # freeing the number for reuse. werkzeug's late write then fails with a broken pipe, which it
    # treats as a dropped connection.
    dead, peer = socket.socketpair()
    peer.close()
    os.dup2(dead.fileno(), sock.fileno())
    dead.close()
