"""What supporting documents need from storage: the signed application they belong to, and one
copy of each document's bytes by SHA-256 (issue 19, item 3).

`Attachments` is implemented on the database by `gateway.storage.attachments.AttachmentStore`
(the default: bytes in the `attachment_blobs` table); the in-memory fake is tests/fakes/attachments.py.
An S3-compatible object store can implement the same port (docs/attachments.md): the object key is
the digest, so `put` is an idempotent write of immutable content, and the per-application link
and the trail entry stay in the database, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from gateway.trail.messages import Message


@dataclass(frozen=True)
class LodgedApplication:
    """What an upload is judged against: who lodged the application and the bytes they signed."""

    id: str
    declarant_bin: str
    body: bytes  # exactly as verified at intake (the enveloped signature covers the whole root)


class Attachments(Protocol):
    """One copy of each document, by digest; which applications' entries it fulfils."""

    def lodged(self, application_id: str) -> LodgedApplication | None:
        """The application as lodged, or None when there is none."""
        ...

    def put(
        self, application_id: str, sha256: str, media_type: str, data: bytes, message: Message
    ) -> bool:
        """Keep `data` under `sha256` unless it is already kept (the caller has checked that
        sha256(data) == sha256), link it to the application and append `message` to the trail,
        in one transaction. True when this application had not had it before (a repeated upload
        changes nothing and records nothing)."""
        ...

    def refused(self, application_id: str, message: Message) -> None:
        """Append `message`, a signed upload the gateway refused, to the application's trail;
        nothing else changes."""
        ...

    def uploaded(self, application_id: str) -> frozenset[str]:
        """The digests uploaded for this application."""
        ...

    def contents(self, application_id: str, digests: Iterable[str]) -> Mapping[str, bytes]:
        """The bytes of those of `digests` uploaded for this application, by digest."""
        ...
