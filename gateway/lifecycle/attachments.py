"""Supporting documents: the entry an application signs (type, number, issuer, date, media type,
size, SHA-256) and the check that uploaded bytes are exactly what was signed and of a kind we
accept — judged by their content, never by a name or a declared header alone."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from dataclasses import dataclass

from wire.xmlparse import XmlRefused, parse_untrusted

MIB = 1024 * 1024


class DocumentType(enum.StrEnum):
    INVOICE = "invoice"
    PACKING_LIST = "packing-list"
    CERTIFICATE_OF_ORIGIN = "certificate-of-origin"
    PHYTOSANITARY_CERTIFICATE = "phytosanitary-certificate"
    VETERINARY_CERTIFICATE = "veterinary-certificate"
    CMR = "cmr"  # the international consignment note (CMR Convention, 1956)
    LICENCE = "licence"


# What each media type's bytes must start with (after a UTF-8 BOM and whitespace for XML).
MEDIA_TYPES = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/xml": (b"<?xml", b"<"),
}
MAX_BYTES = {  # per media type; scans are larger than structured documents
    "application/pdf": 20 * MIB,
    "image/png": 20 * MIB,
    "image/jpeg": 20 * MIB,
    "application/xml": 5 * MIB,
}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class AttachmentProblem(enum.StrEnum):
    """Why bytes or an entry are refused; each maps to its own problem type and status."""

    DIGEST_MISMATCH = "attachment-digest-mismatch"  # 422: not the bytes that were signed
    SIZE_MISMATCH = "attachment-size-mismatch"  # 422
    MEDIA_TYPE_NOT_ALLOWED = "attachment-media-type"  # 415
    CONTENT_NOT_MEDIA_TYPE = "attachment-content-type-mismatch"  # 415: PNG bytes called PDF
    TOO_LARGE = "attachment-too-large"  # 413
    BAD_ENTRY = "attachment-entry-invalid"  # 422


@dataclass(frozen=True)
class AttachmentRefused(Exception):
    problem: AttachmentProblem
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass(frozen=True)
class Attachment:
    """One supporting document as the signed application lists it."""

    type: DocumentType
    number: str
    issuer: str
    issued_on: dt.date
    media_type: str
    size: int
    sha256: str  # lowercase hex

    def __post_init__(self) -> None:
        if self.media_type not in MEDIA_TYPES:
            raise AttachmentRefused(
                AttachmentProblem.MEDIA_TYPE_NOT_ALLOWED,
                f"{self.type} {self.number}: media type {self.media_type!r} is not accepted; "
                f"send one of {', '.join(sorted(MEDIA_TYPES))}.",
            )
        if not 0 < self.size <= MAX_BYTES[self.media_type]:
            raise AttachmentRefused(
                AttachmentProblem.TOO_LARGE,
                f"{self.type} {self.number}: {self.size} bytes is outside 1..{MAX_BYTES[self.media_type]} "
                f"for {self.media_type}.",
            )
        if not _SHA256.match(self.sha256):
            raise AttachmentRefused(
                AttachmentProblem.BAD_ENTRY,
                f"{self.type} {self.number}: the SHA-256 must be 64 lowercase hexadecimal digits.",
            )


def sniff(data: bytes) -> str | None:
    """The accepted media type these bytes are, by their first bytes; None when none."""
    head = data[:64]
    for media_type, magics in MEDIA_TYPES.items():
        if media_type == "application/xml":
            continue
        if any(head.startswith(m) for m in magics):
            return media_type
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if text.startswith(b"<"):
        return "application/xml"
    return None


def check_upload(entry: Attachment, data: bytes) -> None:
    """Accept `data` for `entry` only if it is exactly the signed document: the size, the SHA-256
    and the media type judged from the content all agree."""
    if len(data) > MAX_BYTES[entry.media_type]:
        raise AttachmentRefused(
            AttachmentProblem.TOO_LARGE,
            f"{len(data)} bytes is more than the {MAX_BYTES[entry.media_type]} accepted for "
            f"{entry.media_type}.",
        )
    if len(data) != entry.size:
        raise AttachmentRefused(
            AttachmentProblem.SIZE_MISMATCH,
            f"The upload is {len(data)} bytes; the signed application says {entry.type} "
            f"{entry.number} is {entry.size} bytes. Upload the document that was signed.",
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        raise AttachmentRefused(
            AttachmentProblem.DIGEST_MISMATCH,
            f"The upload's SHA-256 is {digest}; the signed application says {entry.type} "
            f"{entry.number} has {entry.sha256}. Upload the document that was signed.",
        )
    found = sniff(data)
    if found != entry.media_type:
        raise AttachmentRefused(
            AttachmentProblem.CONTENT_NOT_MEDIA_TYPE,
            f"The signed entry calls {entry.type} {entry.number} {entry.media_type}, but its "
            f"content is {found or 'none of the accepted types'}.",
        )
    if found == "application/xml":
        try:  # the one hardened parser: no DTDs, entities or network, bounded depth and size
            parse_untrusted(data, max_bytes=MAX_BYTES["application/xml"])
        except XmlRefused as exc:
            raise AttachmentRefused(
                AttachmentProblem.CONTENT_NOT_MEDIA_TYPE,
                f"{entry.type} {entry.number} is not an XML document we can accept: {exc}",
            ) from exc
