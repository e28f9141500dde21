"""Supporting documents: the entry an application signs (type, number, issuer, date, media type,
size, SHA-256) and the check that uploaded bytes are exactly what was signed and of a kind we
accept — judged by their content, never by a name or a declared header alone."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from dataclasses import dataclass

from gateway.domain.application import Application
from wire.xmlparse import XmlRefused, parse_untrusted

MIB = 1024 * 1024


class DocumentType(enum.StrEnum):
    """The codes of `DocumentType` in wsdl/application/application.xsd, the same list."""

    INVOICE = "invoice"
    CONTRACT = "contract"
    PACKING_LIST = "packing-list"
    CERTIFICATE_OF_ORIGIN = "certificate-of-origin"
    PHYTOSANITARY_CERTIFICATE = "phytosanitary-certificate"
    VETERINARY_CERTIFICATE = "veterinary-certificate"
    REGISTRATION_CERTIFICATE = "registration-certificate"
    SPECIAL_PERMIT = "special-permit"
    CMR = "cmr"  # the international consignment note (CMR Convention, 1956)
    LICENCE = "licence"
    OTHER = "other"


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
MAX_ATTACHMENT_BYTES = max(MAX_BYTES.values())  # the most any one upload may be
# How each binary type must end: bytes appended after the end of the document (a ZIP or script
# riding behind a real PNG: a polyglot) are refused, whatever the signed digest says.
TRAILERS = {
    "application/pdf": (b"%%EOF",),
    "image/png": (b"IEND\xaeB`\x82",),
    "image/jpeg": (b"\xff\xd9",),
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
    trailers = TRAILERS.get(found)
    if trailers and not data.rstrip(b"\r\n \t\x00").endswith(trailers):
        raise AttachmentRefused(
            AttachmentProblem.CONTENT_NOT_MEDIA_TYPE,
            f"{entry.type} {entry.number} starts as {found} but does not end as one: something "
            "follows the end of the document. Upload the document alone.",
        )
    if found == "application/xml":
        try:  # the one hardened parser: no DTDs, entities or network, bounded depth and size
            parse_untrusted(data, max_bytes=MAX_BYTES["application/xml"])
        except XmlRefused as exc:
            raise AttachmentRefused(
                AttachmentProblem.CONTENT_NOT_MEDIA_TYPE,
                f"{entry.type} {entry.number} is not an XML document we can accept: {exc}",
            ) from exc


def attachments_of(
    application: Application, max_bytes: int = MAX_ATTACHMENT_BYTES
) -> tuple[Attachment, ...]:
    """The application's signed entries that carry a digest (documents to upload), each checked:
    an accepted media type, a size within its type's cap and `max_bytes` (the deployment's), one
    entry per digest. Entries without a digest name a document and are not attachments."""
    found: dict[str, Attachment] = {}
    for doc in application.documents:
        if doc.sha256 is None or doc.media_type is None or doc.size is None:
            continue
        try:
            kind = DocumentType(doc.type)
        except ValueError as exc:
            raise AttachmentRefused(
                AttachmentProblem.BAD_ENTRY,
                f"{doc.type!r} is not a document type code; use one of "
                f"{', '.join(t.value for t in DocumentType)}.",
            ) from exc
        entry = Attachment(
            kind, doc.number, doc.issuer or "", doc.issued_on, doc.media_type, doc.size, doc.sha256
        )
        if entry.size > max_bytes:
            raise AttachmentRefused(
                AttachmentProblem.TOO_LARGE,
                f"{entry.type} {entry.number}: {entry.size} bytes is more than the {max_bytes} "
                "this gateway accepts for one document.",
            )
        if entry.sha256 in found:
            raise AttachmentRefused(
                AttachmentProblem.BAD_ENTRY,
                f"{entry.type} {entry.number} has the same SHA-256 as "
                f"{found[entry.sha256].type} {found[entry.sha256].number}: list each document once.",
            )
        found[entry.sha256] = entry
    return tuple(found.values())
