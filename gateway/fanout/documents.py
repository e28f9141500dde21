"""The supporting documents a delivery carries (issue 19, item 3): the application's attachments
of the types the agency's mapping asks for (`AgencySpec.wants_documents`).

Rule: a delivery to an agency that wants a document whose bytes are not uploaded yet waits (the
case stays queued, the application's status lists the document as not uploaded); an upload makes
the application's waiting deliveries due at once, and the case deadline escalates one whose
document never comes. Deliveries to other agencies go at once. The bytes are hashed again before
they leave: a stored copy that no longer matches its signed entry is never sent."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Protocol

from adapters.base import AgencySpec, Document
from gateway.domain.application import read_application
from gateway.trust.xmlparse import parse_xml

DOCUMENT_WAIT_S = 30.0  # how long a waiting delivery rests unless an upload wakes it first


class UploadedDocuments(Protocol):
    """The bytes uploaded for an application (gateway.lifecycle.ports.Attachments)."""

    def contents(self, application_id: str, digests: Iterable[str]) -> Mapping[str, bytes]: ...


class StoredDocumentChanged(Exception):
    """A stored document's bytes no longer hash to the signed digest: never sent."""


def documents_for(
    spec: AgencySpec, application_id: str, body: bytes, store: UploadedDocuments | None
) -> tuple[Document, ...] | None:
    """The documents the agency receives with this application; None while one is not uploaded."""
    if not spec.wants_documents or store is None:
        return ()
    # The stored body is what intake verified; its signature covers the whole root.
    application = read_application(parse_xml(body, max_bytes=len(body) + 1))
    wanted = [
        (e.type, e.number, e.media_type, e.sha256)
        for e in application.documents
        if e.type in spec.wants_documents and e.sha256 and e.media_type
    ]
    if not wanted:
        return ()
    contents = store.contents(application_id, [sha for *_, sha in wanted if sha])
    documents = []
    for kind, number, media_type, sha in wanted:
        assert sha and media_type  # the comprehension kept only entries with both
        data = contents.get(sha)
        if data is None:
            return None
        if hashlib.sha256(data).hexdigest() != sha:
            raise StoredDocumentChanged(
                f"the stored bytes of {kind} {number} no longer match their SHA-256 {sha}"
            )
        documents.append(Document(kind, number, media_type, sha, data))
    return tuple(documents)
