"""Supporting documents on the wire (issue 19, item 3): the REST adapter carries them inline
(base64 `documents`), the SOAP adapter as `Attachment` elements; each stand-in checks the bytes
against the signed SHA-256 and refuses a mismatch, deciding nothing."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

import pytest

from adapters import AgencyAdapter, AgencyCallFailed, AgencyRequest, Outcome
from adapters.base import Document
from simulators.documents import RECEIVED
from simulators.server import RunningAgency
from tests.attachments import PDF, XML
from wire.exchange import body_of

CASES = [("veterinary", "chilled-lamb-import", "veterinary-certificate", PDF, "application/pdf")]
CASES += [
    ("phytosanitary", "fresh-apples-import", "phytosanitary-certificate", XML, "application/xml")
]


def _document(kind: str, data: bytes, media_type: str, sha256: str | None = None) -> Document:
    return Document(
        kind, "CERT-ATT-1", media_type, sha256 or hashlib.sha256(data).hexdigest(), data
    )


@pytest.mark.parametrize(("code", "name", "kind", "data", "media_type"), CASES)
def test_the_document_reaches_the_agency_and_its_digest_is_checked_there(
    agency_server: Callable[..., RunningAgency],
    adapter_for: Callable[..., AgencyAdapter],
    signed_sample: Callable[..., bytes],
    code: str,
    name: str,
    kind: str,
    data: bytes,
    media_type: str,
) -> None:
    adapter = adapter_for(code, agency_server(code).url, 5.0)
    document = _document(kind, data, media_type)
    answer = adapter.send(
        AgencyRequest(f"case-doc-{code}", "app-doc", signed_sample(name), documents=(document,))
    )
    assert answer.outcome is Outcome.GRANTED
    assert RECEIVED[document.sha256] == data
    sent = answer.request_bytes
    if code == "veterinary":  # REST: kept whole (wire.exchange); the body carries the document
        body = json.loads(body_of(sent))
        assert body["attachments"] == [
            {
                "type": kind, "number": "CERT-ATT-1", "mediaType": media_type,
                "sha256": document.sha256, "content": base64.b64encode(data).decode(),
            }
        ]  # fmt: skip
    else:  # SOAP: an Attachment element of the signed body
        assert f'sha256="{document.sha256}"'.encode() in sent
        assert base64.b64encode(data) in sent


@pytest.mark.parametrize(("code", "name", "kind", "data", "media_type"), CASES)
def test_the_agency_refuses_bytes_that_are_not_the_signed_document(
    agency_server: Callable[..., RunningAgency],
    adapter_for: Callable[..., AgencyAdapter],
    signed_sample: Callable[..., bytes],
    code: str,
    name: str,
    kind: str,
    data: bytes,
    media_type: str,
) -> None:
    adapter = adapter_for(code, agency_server(code).url, 5.0)
    claimed = hashlib.sha256(b"the document that was signed").hexdigest()
    forged = _document(kind, data, media_type, sha256=claimed)
    with pytest.raises(AgencyCallFailed, match="not the signed") as refused:
        adapter.send(
            AgencyRequest(
                f"case-forged-{code}", "app-doc", signed_sample(name), documents=(forged,)
            )
        )
    assert refused.value.retryable is False  # the agency refused the request itself
    assert claimed not in RECEIVED


@pytest.mark.parametrize(("code", "name", "kind", "data", "media_type"), CASES)
def test_an_amendment_carries_the_document_inside_the_amended_request(  # type: ignore[no-untyped-def]
    agency_server, adapter_for, signed_sample, code, name, kind, data, media_type
) -> None:
    adapter = adapter_for(code, agency_server(code).url, 5.0)
    # Bytes of their own, so the stand-in's record of them is this test's.
    changed = data.replace(b"CN-1", b"CN-AMEND").replace(b"/Catalog", b"/Catalog /Lang (v2)")
    document = _document(kind, changed, media_type)
    case = f"case-amend-doc-{code}"
    adapter.send(AgencyRequest(case, "app-doc", signed_sample(name)))
    answer = adapter.send(
        AgencyRequest(
            case, "app-doc", signed_sample(name), documents=(document,), operation="amend",
            version=2,
        )
    )  # fmt: skip
    assert answer.outcome is Outcome.GRANTED
    assert RECEIVED[document.sha256] == document.content  # checked by the stand-in
    if code == "veterinary":  # REST: in `request`, as the amendCase schema has it
        body = json.loads(body_of(answer.request_bytes))
        assert [a["sha256"] for a in body["request"]["attachments"]] == [document.sha256]
        assert "attachments" not in body
