"""The WS-Security signer (`wire.dsig.sign`, used by wire/wsse.py): it writes, byte for byte, the signature
signxml's detached signer writes for the same envelope, key and KeyInfo, and signxml verifies it."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureConstructionMethod, SignatureMethod
from signxml.signer import XMLSigner

from wire import dsig, wsse
from wire.keys import load_certificate, load_rsa_key
from wire.wsse import SOAP11, sign_envelope, verify_envelope

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)  # in cert validity

ENVELOPES = {
    "plain": f'<s:Envelope xmlns:s="{SOAP11}"><s:Body><a:R xmlns:a="urn:a"><a:V>1</a:V></a:R>'
    "</s:Body></s:Envelope>",
    "default namespace, attributes, text needing escapes": f'<Envelope xmlns="{SOAP11}">'
    '<Header/><Body><R xmlns="urn:r" z="2" a="&amp;&lt;"><V>a &amp; b &gt; c</V><E/></R>'
    "</Body></Envelope>",
    "whitespace and a header entry": f'<s:Envelope xmlns:s="{SOAP11}" xmlns:x="urn:unused">\n'
    ' <s:Header>\n  <h:To xmlns:h="urn:h">x</h:To>\n </s:Header>\n <s:Body>\n'
    '  <a:R xmlns:a="urn:a" xml:lang="kk">\u049b\u0430\u0437\u0430\u049b</a:R>\n </s:Body>\n'
    "</s:Envelope>\n",
}


def signxml_signature(
    references: tuple[tuple[str, etree._Element], ...], key: Any, key_info: etree._Element
) -> etree._Element:
    """What sign_envelope had signxml make before: its detached signature over the same
    references, with the same KeyInfo."""
    envelope = references[0][1].getroottree().getroot()
    signer: Any = XMLSigner(
        method=SignatureConstructionMethod.detached,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=wsse.EXC_C14N,
    )
    signed: etree._Element = signer.sign(
        envelope,
        key=key,
        reference_uri=[uri for uri, _ in references],
        key_info=key_info,
        id_attribute="Id",
    )
    return signed


@pytest.fixture
def keys(pki: Any) -> tuple[Any, Any]:
    d = pki.directory
    return load_rsa_key(d / "agency-customs.key"), load_certificate(d / "agency-customs.pem")


@pytest.mark.parametrize("name", sorted(ENVELOPES))
def test_the_signature_is_the_one_signxml_makes(
    keys: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    def signed(signature: Any) -> etree._Element:
        counter = itertools.count()  # the same wsu:Ids both times
        monkeypatch.setattr("wire.wsse.secrets.token_hex", lambda n: f"{next(counter):016x}")
        monkeypatch.setattr("wire.dsig.sign", signature)
        return sign_envelope(etree.fromstring(ENVELOPES[name].encode()), *keys, now=NOW)

    ours = signed(dsig.sign)
    theirs = signed(signxml_signature)
    assert etree.tostring(ours) == etree.tostring(theirs)
    # And signxml, the verifier of record, believes it as it is sent.
    sent = etree.fromstring(etree.tostring(ours))
    verified = verify_envelope(sent, keys[1], now=NOW, skew=dt.timedelta(minutes=2))
    assert etree.QName(verified.payload[0]).localname == "R"
