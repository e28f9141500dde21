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
from gateway.i18n import Text
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
                Text(
                    "%(type)s %(number)s: media type %(media_type)s is not accepted; send one "
                    "of %(accepted)s.",
                    type=self.type,
                    number=self.number,
                    media_type=repr(self.media_type),
                    accepted=", ".join(sorted(MEDIA_TYPES)),
                ),
            )
        if not 0 < self.size <= MAX_BYTES[self.media_type]:
            raise AttachmentRefused(
                AttachmentProblem.TOO_LARGE,
                Text(
                    "%(type)s %(number)s: %(size)s bytes is outside 1..%(max)s for %(media_type)s.",
                    type=self.type,
                    number=self.number,
                    size=self.size,
                    max=MAX_BYTES[self.media_type],
                    media_type=self.media_type,
                ),
            )
        if not _SHA256.match(self.sha256):
            raise AttachmentRefused(
                AttachmentProblem.BAD_ENTRY,
                Text(
                    "%(type)s %(number)s: the SHA-256 must be 64 lowercase hexadecimal digits.",
                    type=self.type,
                    number=self.number,
                ),
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
            Text(
                "%(size)s bytes is more than the %(max)s accepted for %(media_type)s.",
                size=len(data),
                max=MAX_BYTES[entry.media_type],
                media_type=entry.media_type,
            ),
        )
    if len(data) != entry.size:
        raise AttachmentRefused(
            AttachmentProblem.SIZE_MISMATCH,
            Text(
                "The upload is %(sent)s bytes; the signed application says %(type)s %(number)s "
                "is %(size)s bytes. Upload the document that was signed.",
                sent=len(data),
                type=entry.type,
                number=entry.number,
                size=entry.size,
            ),
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        raise AttachmentRefused(
            AttachmentProblem.DIGEST_MISMATCH,
            Text(
                "The upload's SHA-256 is %(sent)s; the signed application says %(type)s "
                "%(number)s has %(sha256)s. Upload the document that was signed.",
                sent=digest,
                type=entry.type,
                number=entry.number,
                sha256=entry.sha256,
            ),
        )
    found = sniff(data)
    if found != entry.media_type:
        raise AttachmentRefused(
            AttachmentProblem.CONTENT_NOT_MEDIA_TYPE,
            Text(
                "The signed entry calls %(type)s %(number)s %(media_type)s, but its content is "
                "%(found)s.",
                type=entry.type,
                number=entry.number,
                media_type=entry.media_type,
                found=found or Text("none of the accepted types"),
            ),
        )
    trailers = TRAILERS.get(found)
    if trailers and not data.rstrip(b"\r\n \t\x00").endswith(trailers):
        raise AttachmentRefused(
            AttachmentProblem.CONTENT_NOT_MEDIA_TYPE,
            Text(
                "%(type)s %(number)s starts as %(found)s but does not end as one: something "
                "follows the end of the document. Upload the document alone.",
                type=entry.type,
                number=entry.number,
                found=found,
            ),
        )
    if found == "application/xml":
        try:  # the one hardened parser: no DTDs, entities or network, bounded depth and size
            parse_untrusted(data, max_bytes=MAX_BYTES["application/xml"])
        except XmlRefused as exc:
            raise AttachmentRefused(
                AttachmentProblem.CONTENT_NOT_MEDIA_TYPE,
                Text(
                    "%(type)s %(number)s is not an XML document we can accept: %(why)s",
                    type=entry.type,
                    number=entry.number,
                    why=str(exc),
                ),
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
                Text(
                    "%(code)s is not a document type code; use one of %(codes)s.",
                    code=repr(doc.type),
                    codes=", ".join(t.value for t in DocumentType),
                ),
            ) from exc
        entry = Attachment(
            kind, doc.number, doc.issuer or "", doc.issued_on, doc.media_type, doc.size, doc.sha256
        )
        if entry.size > max_bytes:
            raise AttachmentRefused(
                AttachmentProblem.TOO_LARGE,
                Text(
                    "%(type)s %(number)s: %(size)s bytes is more than the %(max)s this gateway "
                    "accepts for one document.",
                    type=entry.type,
                    number=entry.number,
                    size=entry.size,
                    max=max_bytes,
                ),
            )
        if entry.sha256 in found:
            raise AttachmentRefused(
                AttachmentProblem.BAD_ENTRY,
                Text(
                    "%(type)s %(number)s has the same SHA-256 as %(other_type)s %(other)s: list "
                    "each document once.",
                    type=entry.type,
                    number=entry.number,
                    other_type=found[entry.sha256].type,
                    other=found[entry.sha256].number,
                ),
            )
        found[entry.sha256] = entry
    return tuple(found.values())
