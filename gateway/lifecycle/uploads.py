"""Supporting documents at the gateway's edges: the entries intake accepts, and the judging of an
upload against the entry its application signed (issue 19, item 3).

The stored application body is exactly what intake verified, and its enveloped signature covers
the whole root (`URI=""`, the signature the root's last child: gateway.trust.xmlsig), so the
entries read again from it are the signed ones; nothing here re-checks the certificate, which may
have expired since without changing what was signed."""

from __future__ import annotations

import hashlib
import json

from gateway.domain.application import Application, read_application
from gateway.i18n import Text
from gateway.lifecycle.attachment_errors import AttachmentNotListed, problem_for
from gateway.lifecycle.attachments import (
    MAX_ATTACHMENT_BYTES,
    Attachment,
    AttachmentRefused,
    attachments_of,
    check_upload,
)
from gateway.lifecycle.ports import LodgedApplication
from gateway.trust.xmlparse import parse_xml


def check_entries(
    application: Application, max_bytes: int = MAX_ATTACHMENT_BYTES
) -> tuple[Attachment, ...]:
    """The application's attachments, or the problem with the first entry that is refused."""
    try:
        return attachments_of(application, max_bytes)
    except AttachmentRefused as exc:
        raise problem_for(exc) from exc


def signed_entries(lodged: LodgedApplication) -> tuple[Attachment, ...]:
    """The attachments the lodged application lists (accepted at intake, so valid)."""
    application = read_application(parse_xml(lodged.body, max_bytes=len(lodged.body) + 1))
    return attachments_of(application, max_bytes=2**63)


def entry_for(lodged: LodgedApplication, sha256: str) -> Attachment:
    """The signed entry with this digest, or 404 `attachment-not-listed`."""
    for entry in signed_entries(lodged):
        if entry.sha256 == sha256:
            return entry
    raise AttachmentNotListed(
        Text(
            "Application %(id)s lists no supporting document with SHA-256 %(sha256)s. Upload "
            "only documents whose entry (type, number, media type, size and SHA-256) the signed "
            "application lists; to add a document, lodge an application that lists it.",
            id=lodged.id,
            sha256=sha256,
        )
    )


def judge_upload(entry: Attachment, data: bytes) -> None:
    """Accept `data` only as exactly the signed entry's document (size, SHA-256, content type)."""
    try:
        check_upload(entry, data)
    except AttachmentRefused as exc:
        raise problem_for(exc) from exc


def refusal(
    application_id: str, sha256: str, data: bytes, problem: str, request: dict[str, str | None]
) -> bytes:
    """The trail's record of a signed upload that was refused: what was asked for, the digest and
    size of what was sent (never the bytes), the problem type, and the signed request."""
    record = {
        "application_id": application_id,
        "sha256": sha256,
        "sent_sha256": hashlib.sha256(data).hexdigest(),
        "sent_size": len(data),
        "problem": problem,
        "request": request,
    }
    return json.dumps(record, sort_keys=True, ensure_ascii=False).encode()


def citation(application_id: str, entry: Attachment, request: dict[str, str | None]) -> bytes:
    """The trail's record of an upload: the document by digest (its bytes are kept apart, once)
    and the signed request that brought it (method, target, Content-Digest, signature fields)."""
    record = {
        "application_id": application_id,
        "sha256": entry.sha256,
        "size": entry.size,
        "media_type": entry.media_type,
        "type": entry.type.value,
        "number": entry.number,
        "request": request,
    }
    return json.dumps(record, sort_keys=True, ensure_ascii=False).encode()
