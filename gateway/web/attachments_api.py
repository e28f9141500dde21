"""Supporting documents over the trader API (issue 19, item 3): the bytes of a document the signed
application lists, uploaded by the declarant or its representative with an RFC 9421-signed PUT.

`PUT /api/v1/applications/<id>/attachments/<sha256>` is judged in this order, each refusal its own
problem and none of them changing anything: the body's size against the deployment's cap, read no
further than it (413 `attachment-too-large`); the request signature (401); the application (404)
and the signer's right to act for its declarant (403 `not-your-application`); the signed entry with
this digest (404 `attachment-not-listed`); then the bytes against that entry — size and SHA-256
(422), media type judged by content (415). Accepted bytes are kept once by digest, and the upload
is cited in the trail by digest with the signed request that brought it; a refusal of the last
three steps (the sender may act) is in the trail too (`attachment-refused`: what was sent, by
digest), and changes nothing else.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.errors import BodyTooLarge, GatewayError, NotFound
from gateway.i18n import Text
from gateway.lifecycle.attachment_errors import AttachmentTooLarge
from gateway.lifecycle.attachments import MAX_ATTACHMENT_BYTES, Attachment
from gateway.lifecycle.ports import LodgedApplication
from gateway.lifecycle.uploads import citation, entry_for, judge_upload, refusal, signed_entries
from gateway.limits import APPLICATION_ID, SHA256
from gateway.trail.messages import Message, sha256_hex
from gateway.web.body import read_body
from gateway.web.params import path_text
from gateway.web.trader_auth import (
    add_accept_signature,
    authorise,
    may_act_for,
    require_trader,
)

if TYPE_CHECKING:
    from gateway.bootstrap import Services

bp = Blueprint("attachments", __name__, url_prefix="/api/v1")
bp.after_request(add_accept_signature)


def services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


def limit() -> int:
    return min(services().config.max_attachment_bytes, MAX_ATTACHMENT_BYTES)


def _body() -> bytes:
    """The whole body, or 413 before reading past the cap (a declared length over it is refused
    unread; a chunked body is read to one byte past it)."""
    cap = limit()
    try:
        return read_body(cap)
    except BodyTooLarge as exc:
        raise too_large(cap) from exc


def too_large(cap: int) -> AttachmentTooLarge:
    return AttachmentTooLarge(
        Text(
            "A supporting document may be at most %(limit)s bytes; this one is larger.", limit=cap
        ),
        limit=cap,
    )


def _entry_json(entry: Attachment, uploaded: bool) -> dict[str, object]:
    return {
        "type": entry.type.value,
        "number": entry.number,
        "media_type": entry.media_type,
        "size": entry.size,
        "sha256": entry.sha256,
        "uploaded": uploaded,
    }


@bp.put("/applications/<application_id>/attachments/<sha256>")
def upload(application_id: str, sha256: str) -> tuple[Response, int]:
    path_text(application_id, APPLICATION_ID, "application")
    path_text(sha256, SHA256, "document")
    data = _body()
    signer = require_trader()  # covers the body's Content-Digest: these are the signed bytes
    lodged = services().attachments.lodged(application_id)
    if lodged is None:
        raise NotFound(
            Text(
                "There is no application %(id)s of your company or of a company you are "
                "registered to represent.",
                id=application_id,
            )
        )
    authorise(signer, lodged.declarant_bin)
    headers = request.headers
    record = {
        "method": request.method,
        "target": request.url,
        "content-digest": headers.get("Content-Digest"),
        "signature-input": headers.get("Signature-Input"),
        "signature": headers.get("Signature"),
    }
    counterpart = f"trader:{signer.bin or signer.fingerprint_sha256}"
    entry, created = accept(lodged, sha256, data, counterpart, signer.subject, record)
    return jsonify(_entry_json(entry, True)), 201 if created else 200


@bp.get("/applications/<application_id>/attachments/<sha256>")
def download(application_id: str, sha256: str) -> Response:
    """The trader's own uploaded document: a signed read like the status, and another company's
    application answers exactly as an unknown id (404), as the other reads do."""
    signer = require_trader()
    path_text(application_id, APPLICATION_ID, "application")
    path_text(sha256, SHA256, "document")
    lodged = None
    if may_act_for(signer, services().store.declarant_bin(application_id)):
        lodged = services().attachments.lodged(application_id)
    if lodged is None:
        raise NotFound(
            Text(
                "There is no application %(id)s of your company or of a company you are "
                "registered to represent.",
                id=application_id,
            )
        )
    return document_download(lodged, entry_for(lodged, sha256))


def document_download(lodged: LodgedApplication, entry: Attachment) -> Response:
    """The uploaded bytes of `entry` (the caller has checked who may read them), as a download:
    the signed entry's media type, `Content-Disposition: attachment` and a sandboxing CSP, so a
    browser never shows a document inline as a page of the gateway's origin (an XML document
    with a stylesheet could otherwise run script there); nosniff is on every answer
    (gateway.web.headers). 404 `not-found` while it is not uploaded."""
    data = services().attachments.contents(lodged.id, [entry.sha256]).get(entry.sha256)
    if data is None:
        raise NotFound(
            Text(
                "Document %(type)s %(number)s of application %(id)s is not uploaded yet.",
                type=entry.type.value,
                number=entry.number,
                id=lodged.id,
            )
        )
    response = Response(data, mimetype=entry.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name(entry)}"'
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


_EXTENSIONS = {
    "application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "application/xml": "xml",
}  # fmt: skip


def file_name(entry: Attachment) -> str:
    """`<type>-<number>.<ext>` with anything but letters, digits, dot and dash as `_`: the
    number is the trader's text and must not break out of the header's quoted string."""
    stem = re.sub(r"[^A-Za-z0-9.-]", "_", f"{entry.type.value}-{entry.number}")
    return f"{stem[:100]}.{_EXTENSIONS.get(entry.media_type, 'bin')}"


def accept(
    lodged: LodgedApplication,
    sha256: str,
    data: bytes,
    counterpart: str,
    signer: str,
    record: dict[str, str | None],
) -> tuple[Attachment, bool]:
    """Judge `data` against the signed entry `sha256` of `lodged` and keep it (the caller has
    checked that the sender may act for the declarant). A refusal is recorded in the trail
    (`attachment-refused`) and raised; acceptance returns the entry and whether it was new."""
    try:
        entry = entry_for(lodged, sha256)
        judge_upload(entry, data)
    except GatewayError as exc:
        # The sender may act for the declarant: on the record, though nothing changes (another
        # company's request never reaches here, so never writes to this application's trail).
        refused = refusal(lodged.id, sha256, data, exc.code, record)
        services().attachments.refused(
            lodged.id,
            Message(
                "attachment-refused", "in", counterpart, "application/json", refused,
                signer=signer,
            ),
        )  # fmt: skip
        raise
    message = Message(
        "attachment",
        "in",
        counterpart,
        "application/json",
        citation(lodged.id, entry, record),
        signer=signer,
    )
    created = services().attachments.put(lodged.id, entry.sha256, entry.media_type, data, message)
    return entry, created


class _EntriesByDigest:
    """The signed attachment entries of an application's body, by the body's SHA-256: a pure
    function of those bytes, so what was parsed once holds for as long as the bytes are the
    application's. A status read then costs no body read and no XML parse, and no upload look-up
    for the many applications that list no document (issue 17). Bounded (least recently used
    goes first); thread-safe."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._found: OrderedDict[str, tuple[Attachment, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> tuple[Attachment, ...] | None:
        with self._lock:
            found = self._found.get(digest)
            if found is not None:
                self._found.move_to_end(digest)
            return found

    def put(self, digest: str, entries: tuple[Attachment, ...]) -> None:
        with self._lock:
            self._found[digest] = entries
            self._found.move_to_end(digest)
            while len(self._found) > self._size:
                self._found.popitem(last=False)


_entries = _EntriesByDigest()


def documents_json(
    application_id: str, agencies: list[str], body_sha256: str | None = None
) -> list[dict[str, object]]:
    """The application's attachments, whether each is uploaded, and which of its `agencies` want
    it (their cases wait until it is: gateway.fanout.documents). `body_sha256`, the digest of the
    application's body as just read, lets an earlier parse of those bytes answer."""
    entries = _entries.get(body_sha256) if body_sha256 else None
    if entries is None:
        lodged = services().attachments.lodged(application_id)
        if lodged is None:
            return []
        entries = signed_entries(lodged)
        _entries.put(sha256_hex(lodged.body), entries)  # the bytes read, whatever was asked
    if not entries:
        return []
    uploaded = services().attachments.uploaded(application_id)
    specs = services().specs
    return [
        _entry_json(e, e.sha256 in uploaded)
        | {
            "wanted_by": [
                a for a in agencies if a in specs and e.type.value in specs[a].wants_documents
            ]
        }
        for e in entries
    ]
