"""An HTTP message as the trail keeps it: what crossed the wire that matters for proof.

A signed REST message is more than its body: the RFC 9421 signature lives in the `Signature` and
`Signature-Input` fields, and the body is bound to it by `Content-Digest`. Keeping only the body (as
the trail once did) leaves nothing to re-check. A record keeps the request line (method and target)
or the status, the fields the gateway's profile signs or needs to verify, and the body, as one
canonical JSON document:

    {"format": "nsw-http-message-1", "method": "POST", "target": "https://…", "status": null,
     "fields": {"content-type": "…", "content-digest": "…", "signature-input": "…",
                "signature": "…"},
     "body": "<base64>"}

Keys sorted, no insignificant white space, field names lower-case: the same message gives the same
bytes, so its SHA-256 is stable. `read_record` is strict: a record that is not exactly this shape
is refused, never half-read.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FORMAT = "nsw-http-message-1"
MEDIA_TYPE = "application/vnd.nsw.http-message+json"
# The fields kept: those the profile signs, and those that carry the signature.
KEPT_FIELDS = ("content-type", "content-digest", "signature-input", "signature")


class UnreadableRecord(ValueError):
    """The bytes are not an HTTP message record of this format."""


@dataclass(frozen=True)
class HttpRecord:
    fields: Mapping[str, str]
    body: bytes
    method: str | None = None
    target: str | None = None
    status: int | None = None

    @property
    def is_request(self) -> bool:
        return self.method is not None


def record(
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str | None = None,
    target: str | None = None,
    status: int | None = None,
) -> bytes:
    """The canonical record of a request (method and target) or a response (status)."""
    if (method is None) == (status is None) or (method is None) != (target is None):
        raise ValueError("a record is a request (method, target) or a response (status)")
    lower = {name.lower(): value for name, value in headers.items()}
    document = {
        "format": FORMAT,
        "method": method,
        "target": target,
        "status": status,
        "fields": {name: lower[name] for name in KEPT_FIELDS if name in lower},
        "body": base64.b64encode(body).decode("ascii"),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


def is_record(data: bytes) -> bool:
    """Whether `data` claims to be a record: a JSON object that names this format anywhere.

    Deliberately loose: a record re-serialised in another key order or spacing (a tampered copy,
    say) still counts, so `read_record` — the strict reader — refuses it instead of the verifier
    waving it through as a message of another kind. Only the format's quoted name is looked for,
    which a SOAP envelope or a plain JSON body does not carry, whatever the record's size."""
    return data.lstrip()[:1] == b"{" and b'"' + FORMAT.encode() + b'"' in data


def read_record(data: bytes) -> HttpRecord:
    try:
        document: Any = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnreadableRecord(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UnreadableRecord(f"not a {FORMAT} record")
    if set(document) != {"format", "method", "target", "status", "fields", "body"}:
        raise UnreadableRecord("the record has other members than its format allows")
    fields, method, target, status = (
        document["fields"],
        document["method"],
        document["target"],
        document["status"],
    )
    if not isinstance(fields, dict) or not all(
        isinstance(k, str) and k in KEPT_FIELDS and isinstance(v, str) for k, v in fields.items()
    ):
        raise UnreadableRecord("the record's fields are not the kept header fields as strings")
    request = isinstance(method, str) and isinstance(target, str) and status is None
    response = method is None and target is None and type(status) is int
    if not (request or response):
        raise UnreadableRecord("a record is a request (method, target) or a response (status)")
    try:
        body = base64.b64decode(str(document["body"]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnreadableRecord("the record's body is not base64") from exc
    return HttpRecord(dict(fields), body, method, target, status)


def body_of(data: bytes) -> bytes:
    """The message body: a record's body, or `data` itself when it is not a record (a SOAP
    envelope or a message kept before whole messages were)."""
    if not is_record(data):
        return data
    try:
        return read_record(data).body
    except UnreadableRecord:
        return data
