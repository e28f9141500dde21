"""Supporting documents in tests (issue 19, item 3): sample applications that list documents by
digest, and small documents of each accepted type."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32 + b"\x00\x00\x00\x00IEND\xaeB`\x82"
XML = (
    b'<?xml version="1.0"?>\n<SPSCertificate xmlns="urn:example:sps"><ID>CN-1</ID></SPSCertificate>'
)


@dataclass(frozen=True)
class Entry:
    """One Documents/Document entry with a digest; size and sha256 default to `data`'s."""

    data: bytes
    type: str = "invoice"
    number: str = "INV-ATT-1"
    media_type: str = "application/pdf"
    size: int | None = None
    sha256: str | None = None

    @property
    def digest(self) -> str:
        return self.sha256 or hashlib.sha256(self.data).hexdigest()

    def xml(self) -> bytes:
        return (
            f"<Document><Type>{self.type}</Type><Number>{self.number}</Number>"
            f"<Date>2026-11-20</Date><Issuer>Steppe Fruit LLP</Issuer>"
            f"<MediaType>{self.media_type}</MediaType><Size>{len(self.data) if self.size is None else self.size}</Size>"
            f"<SHA256>{self.digest}</SHA256></Document>"
        ).encode()


def listing(*entries: Entry) -> Callable[[bytes], bytes]:
    """An `edit` for `signed_sample`: the sample with these entries added to its Documents."""

    def edit(raw: bytes) -> bytes:
        added = b"".join(e.xml() for e in entries)
        return raw.replace(b"</Documents>", added + b"</Documents>", 1)

    return edit
