"""What every stand-in does with supporting documents it receives (issue 19, item 3): the bytes
must hash to the SHA-256 the trader signed, or the request is refused (a REST 422 problem, a
SOAP Client Fault) and nothing is decided. The stand-ins keep what they received by digest, so
a test can see which documents reached which agency."""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from typing import Any

from lxml import etree

_lock = threading.Lock()
# sha256 -> bytes of the documents the stand-ins of this process accepted, the latest KEPT only (a
# stand-in runs for days in the demo; this is for tests to look at, not an archive).
RECEIVED: dict[str, bytes] = {}
KEPT = 64


def _check(sha256: str, content: str, what: str) -> str | None:
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return f"{what}: the content is not base64"
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        return f"{what}: the content's SHA-256 is {actual}, not the signed {sha256}"
    # Said where an operator reads the stand-in's output (the demo shows this line).
    print(f"{what}: {len(data)} bytes whose SHA-256 {actual} is the signed one", flush=True)
    with _lock:
        RECEIVED.pop(sha256, None)
        RECEIVED[sha256] = data
        while len(RECEIVED) > KEPT:
            del RECEIVED[next(iter(RECEIVED))]
    return None


def json_documents_problem(body: dict[str, Any]) -> str | None:
    """Why the `attachments` of a REST request body are refused; None when each digest matches."""
    for doc in body.get("attachments", []):
        why = _check(str(doc.get("sha256", "")), str(doc.get("content", "")), "attachments")
        if why:
            return why
    return None


def xml_attachments_problem(payload: etree._Element) -> str | None:
    """Why the `Attachment` elements of a SOAP request are refused; None when each matches."""
    for element in payload:
        if not isinstance(element.tag, str) or etree.QName(element).localname != "Attachment":
            continue
        why = _check(element.get("sha256", ""), element.text or "", "Attachment")
        if why:
            return why
    return None
