"""The adapters' HTTP client over TLS (adapters/http.py): the agency's certificate is verified
against the CA bundle the environment names, and its name against the endpoint's host, on the
connection the exchange then uses."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from adapters.http import AgencyConnection


def _certificate(subject: str, issuer: Any, issuer_key: Any, key: Any, **kw: Any) -> Any:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if kw.get("ca"):
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    if "san" in kw:
        builder = builder.add_extension(x509.SubjectAlternativeName(kw["san"]), False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: Any) -> bytes:
    return bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def tls_agency(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """An HTTPS server on 127.0.0.1 with a certificate for 127.0.0.1 from a test CA: (its URL,
    that CA's bundle, another CA's bundle)."""
    ca_key, other_key, key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _certificate("test CA", None, ca_key, ca_key, ca=True)
    other = _certificate("other CA", None, other_key, other_key, ca=True)
    san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = _certificate("127.0.0.1", ca.subject, ca_key, key, san=san)
    (tmp_path / "ca.pem").write_bytes(_pem(ca))
    (tmp_path / "other.pem").write_bytes(_pem(other))
    (tmp_path / "cert.pem").write_bytes(_pem(cert))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    def answer(environ: Any, start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, answer, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}", tmp_path / "ca.pem", tmp_path / "other.pem"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_an_agency_certificate_from_the_named_ca_is_accepted(
    tls_agency: tuple[str, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca, _ = tls_agency
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    http = AgencyConnection(url, 5)
    for _ in range(2):  # the second call on the kept, verified connection
        answer = http.post(url + "/x", b"1", {}, max_bytes=10)
        assert (answer.status_code, answer.content) == (200, b"ok")
    http.close()


def test_an_agency_certificate_from_another_ca_is_refused(
    tls_agency: tuple[str, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _, other = tls_agency
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    with pytest.raises(requests.exceptions.SSLError, match="certificate verify failed"):
        AgencyConnection(url, 5).post(url + "/x", b"1", {}, max_bytes=10)


def test_an_agency_certificate_for_another_name_is_refused(
    tls_agency: tuple[str, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca, _ = tls_agency
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    elsewhere = url.replace("127.0.0.1", "localhost")  # the certificate names 127.0.0.1 only
    with pytest.raises(requests.exceptions.SSLError, match="localhost"):
        AgencyConnection(elsewhere, 5).post(elsewhere + "/x", b"1", {}, max_bytes=10)
