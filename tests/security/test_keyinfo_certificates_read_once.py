"""A trader's certificate arrives with every document it signs: intake reads each distinct
ds:X509Certificate once per process (issue 17), and a certificate that cannot be read is refused
every time it is sent, never remembered as read."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.clock import system_clock
from gateway.errors import UnreadableCertificate
from gateway.trust import xmlsig
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from wire import certificates


def test_the_same_keyinfo_certificate_is_read_once(
    signed_sample: Callable[..., bytes], trust: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real = certificates.certificate_from_base64

    def counted(text: str) -> object:
        reads.append(text)
        return real(text)

    xmlsig._certificate.cache_clear()
    monkeypatch.setattr(certificates, "certificate_from_base64", counted)
    for _ in range(3):
        document = parse_xml(signed_sample("fresh-apples-import"))
        assert xmlsig.verify_enveloped(document, trust, now=system_clock()).signer.bin
    assert len(reads) == len(set(reads)) == 2  # the trader's certificate and its CA's, once each


def test_an_unreadable_certificate_is_refused_each_time(
    signed_sample: Callable[..., bytes], trust: TrustStore
) -> None:
    body = signed_sample("fresh-apples-import")
    start = body.index(b"<ds:X509Certificate>") + len(b"<ds:X509Certificate>")
    broken = body[:start] + b"AAAA" + body[start + 4 :]  # its DER no longer reads
    for _ in range(2):
        with pytest.raises(UnreadableCertificate):
            xmlsig.verify_enveloped(parse_xml(broken), trust, now=system_clock())
