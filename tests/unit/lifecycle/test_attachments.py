"""Uploaded supporting documents are accepted only when they are the bytes that were signed, of a
media type we accept judged by content, within the size caps."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

import pytest

from gateway.domain.application import Application, SupportingDocument, read_application
from gateway.lifecycle.attachments import (
    MAX_BYTES,
    Attachment,
    AttachmentProblem,
    AttachmentRefused,
    DocumentType,
    attachments_of,
    check_upload,
    sniff,
)
from gateway.resources import shipped
from gateway.trust.xmlparse import parse_xml

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32 + b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32 + b"\xff\xd9"
XML = b'\xef\xbb\xbf<?xml version="1.0"?>\n<SPSCertificate/>'


def _entry(data: bytes, media_type: str = "application/pdf", **overrides: object) -> Attachment:
    fields: dict[str, object] = {
        "type": DocumentType.INVOICE,
        "number": "INV-7",
        "issuer": "Steppe Fruit LLP",
        "issued_on": dt.date(2026, 12, 1),
        "media_type": media_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    fields.update(overrides)
    return Attachment(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "media_type"),
    [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (XML, "application/xml")],
)
def test_the_signed_bytes_of_each_accepted_type_pass(data: bytes, media_type: str) -> None:
    assert sniff(data) == media_type
    check_upload(_entry(data, media_type), data)


def test_bytes_that_are_not_the_signed_ones_are_refused_naming_both_digests() -> None:
    other = PDF.replace(b"Catalog", b"Catalox")
    with pytest.raises(AttachmentRefused) as refused:
        check_upload(_entry(PDF), other)
    assert refused.value.problem is AttachmentProblem.DIGEST_MISMATCH
    assert hashlib.sha256(other).hexdigest() in refused.value.detail
    assert hashlib.sha256(PDF).hexdigest() in refused.value.detail


def test_a_different_size_is_refused_before_hashing() -> None:
    with pytest.raises(AttachmentRefused) as refused:
        check_upload(_entry(PDF), PDF + b"\n")
    assert refused.value.problem is AttachmentProblem.SIZE_MISMATCH


def test_content_is_judged_not_the_declared_type() -> None:
    with pytest.raises(AttachmentRefused) as refused:
        check_upload(_entry(PNG, "application/pdf"), PNG)
    assert refused.value.problem is AttachmentProblem.CONTENT_NOT_MEDIA_TYPE
    assert "image/png" in refused.value.detail


def test_an_executable_is_no_accepted_type() -> None:
    elf = b"\x7fELF" + b"\x00" * 60
    assert sniff(elf) is None
    with pytest.raises(AttachmentRefused) as refused:
        check_upload(_entry(elf), elf)
    assert refused.value.problem is AttachmentProblem.CONTENT_NOT_MEDIA_TYPE


def test_xml_with_an_entity_is_refused_by_the_hardened_parser() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>'
    with pytest.raises(AttachmentRefused) as refused:
        check_upload(_entry(bomb, "application/xml"), bomb)
    assert refused.value.problem is AttachmentProblem.CONTENT_NOT_MEDIA_TYPE


def test_entries_out_of_bounds_are_refused_when_read() -> None:
    with pytest.raises(AttachmentRefused) as media:
        _entry(PDF, "text/html")
    assert media.value.problem is AttachmentProblem.MEDIA_TYPE_NOT_ALLOWED
    with pytest.raises(AttachmentRefused) as large:
        _entry(PDF, size=MAX_BYTES["application/pdf"] + 1)
    assert large.value.problem is AttachmentProblem.TOO_LARGE
    with pytest.raises(AttachmentRefused) as digest:
        _entry(PDF, sha256="ABC")
    assert digest.value.problem is AttachmentProblem.BAD_ENTRY


@pytest.mark.parametrize(
    ("data", "media_type"),
    [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")],
)
def test_a_polyglot_with_something_behind_the_document_is_refused(
    data: bytes, media_type: str
) -> None:
    polyglot = data + b"PK\x03\x04" + b"\x00" * 26 + b"<script>alert(1)</script>"
    with pytest.raises(AttachmentRefused) as refused:
        check_upload(_entry(polyglot, media_type), polyglot)
    assert refused.value.problem is AttachmentProblem.CONTENT_NOT_MEDIA_TYPE
    assert "does not end as one" in refused.value.detail


APPLICATION = read_application(
    parse_xml((shipped("samples") / "fresh-apples-import.xml").read_bytes())
)


def _application(*documents: SupportingDocument) -> Application:
    return replace(APPLICATION, documents=documents)


def _doc(data: bytes = PDF, **overrides: object) -> SupportingDocument:
    fields: dict[str, object] = {
        "type": "invoice", "number": "INV-7", "issued_on": dt.date(2026, 12, 1),
        "media_type": "application/pdf", "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }  # fmt: skip
    fields.update(overrides)
    return SupportingDocument(**fields)  # type: ignore[arg-type]


def test_only_entries_with_a_digest_are_attachments() -> None:
    named = _doc(media_type=None, size=None, sha256=None)
    found = attachments_of(_application(named, _doc()))
    assert [(a.type, a.number) for a in found] == [(DocumentType.INVOICE, "INV-7")]


def test_entries_that_could_never_be_uploaded_are_refused_at_intake() -> None:
    with pytest.raises(AttachmentRefused) as kind:
        attachments_of(_application(_doc(type="passport")))
    assert kind.value.problem is AttachmentProblem.BAD_ENTRY
    with pytest.raises(AttachmentRefused) as twice:
        attachments_of(_application(_doc(), _doc(number="INV-8")))
    assert twice.value.problem is AttachmentProblem.BAD_ENTRY
    with pytest.raises(AttachmentRefused) as capped:
        attachments_of(_application(_doc()), max_bytes=len(PDF) - 1)
    assert capped.value.problem is AttachmentProblem.TOO_LARGE
