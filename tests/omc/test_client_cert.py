"""Sign-in by a client certificate from the PKI, passed on by a trusted TLS proxy: a good, bound
certificate opens a session; every other certificate, or a header from anyone but the proxy, is
refused on the login page with the reason."""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import shutil
import textwrap
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gateway.errors import ConfigurationError
from gateway.pki.dev import DevPki
from gateway.pki.profiles import (
    PartySpec,
    PrivateKey,
    issue_certificate,
    make_crl,
    new_key,
    officer,
)
from tests.omc.conftest import OMC, PASSWORD
from tests.security.hostile_certs import BREAKAGES, broken

HEADER = "X-Client-Cert"
PROXY = "127.0.0.1"  # the Flask test client's REMOTE_ADDR
ELSEWHERE = "203.0.113.9"  # TEST-NET-3: any other machine


@dataclass(frozen=True)
class OfficerCerts:
    """A copy of the test PKI with officers' certificates: good (from the dev PKI), expired,
    revoked (on a newer CRL), client-auth missing from the extended key usage, and unbound."""

    directory: Path
    pem: dict[str, bytes]

    def fingerprint(self, name: str) -> str:
        return x509.load_pem_x509_certificate(self.pem[name]).fingerprint(hashes.SHA256()).hex()


@pytest.fixture(scope="module")
def officer_certs(pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> OfficerCerts:
    directory = tmp_path_factory.mktemp("officer-pki") / "pki"
    shutil.copytree(pki.directory, directory)
    issuing = pki.certificate("issuing-ca")
    ca_key = serialization.load_pem_private_key(pki.key_path("issuing-ca").read_bytes(), None)
    assert isinstance(ca_key, PrivateKey)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def issue(spec: PartySpec) -> x509.Certificate:
        return issue_certificate(spec, new_key("p256"), (issuing, ca_key), now)

    made = {
        "expired": issue(officer("o-exp", "Expired Officer", "880407400121", expired=True)),
        "revoked": issue(officer("o-rev", "Revoked Officer", "880407400121", revoked=True)),
        "unbound": issue(officer("o-new", "Unbound Officer", "880407400121")),
        "server-auth": _server_auth_only(issuing, ca_key, now),
    }
    revoked = [(pki.certificate("trader-revoked").serial_number, now)]
    revoked.append((made["revoked"].serial_number, now))
    crl = make_crl(issuing, ca_key, revoked, now=now, number=2)
    (directory / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    pem = {name: c.public_bytes(serialization.Encoding.PEM) for name, c in made.items()}
    pem["good"] = pki.cert_path("officer-nurpeisova").read_bytes()
    return OfficerCerts(directory, pem)


def _server_auth_only(
    issuing: x509.Certificate, ca_key: PrivateKey, now: dt.datetime
) -> x509.Certificate:
    """A valid certificate from the same CA whose extended key usage is serverAuth only."""
    key = new_key("p256")
    spec = officer("o-srv", "Server Auth Officer", "880407400121")
    return (
        x509.CertificateBuilder()
        .subject_name(spec.subject)
        .issuer_name(issuing.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


@pytest.fixture
def cert_app(app_factory: Callable[..., Flask], officer_certs: OfficerCerts) -> Flask:
    app = app_factory(
        **OMC, pki_dir=officer_certs.directory, omc_client_cert_header=HEADER,
        omc_trusted_proxies=(PROXY, "::1"),
    )  # fmt: skip
    accounts = app.extensions["nsw-omc-accounts"]
    # Every certificate but "unbound" is bound to an account, so each is refused for its own fault.
    for name, username in [("good", "aliya"), ("expired", "olga"), ("revoked", "ruslan"),
                           ("server-auth", "serik")]:  # fmt: skip
        accounts.add(username, "operator", PASSWORD, by="test",
                     cert_fingerprint=officer_certs.fingerprint(name))  # fmt: skip
    return app


def _present(
    app: Flask, pem: bytes, *, peer: str = PROXY, path: str = "/omc/login"
) -> tuple[FlaskClient, TestResponse]:
    client = app.test_client()
    response = client.get(
        path,
        headers={HEADER: urllib.parse.quote(pem.decode())},  # as nginx's $ssl_client_escaped_cert
        environ_base={"REMOTE_ADDR": peer},
    )
    return client, response


def test_a_good_bound_certificate_from_the_proxy_signs_the_officer_in(
    cert_app: Flask, officer_certs: OfficerCerts
) -> None:
    client, response = _present(cert_app, officer_certs.pem["good"])
    assert response.status_code == 302 and response.headers["Location"] == "/omc/"
    page = client.get("/omc/applications").get_data(as_text=True)
    assert "aliya · operator" in page


def test_a_page_asked_for_first_leads_through_the_certificate_sign_in(
    cert_app: Flask, officer_certs: OfficerCerts
) -> None:
    client, first = _present(cert_app, officer_certs.pem["good"], path="/omc/checkpoints")
    login = first.headers["Location"]
    assert login.startswith("/omc/login?next=")
    pem = urllib.parse.quote(officer_certs.pem["good"].decode())
    signed_in = client.get(login, headers={HEADER: pem})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/omc/checkpoints"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("expired", r"'[^']*CN=Expired Officer[^']*' has expired: it is valid from"),
        ("revoked", r"'[^']*CN=Revoked Officer[^']*' \(serial [0-9a-f]+\) was revoked by"),
        ("server-auth", r"not issued for TLS client authentication .*does not list clientAuth"),
        (
            "unbound",
            r"is valid, but no enabled OMC account is bound to it \(SHA-256 [0-9a-f]{64}\)",
        ),
    ],
)
def test_a_certificate_that_fails_a_check_is_refused_with_the_reason(
    cert_app: Flask, officer_certs: OfficerCerts, name: str, reason: str
) -> None:
    client, response = _present(cert_app, officer_certs.pem[name])
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert re.search(reason, html.unescape(page)), page
    assert 'name="password"' in page  # the password form is still there
    assert client.get("/omc/applications").status_code == 302


def test_a_certificate_header_from_anyone_but_the_proxy_is_not_believed(
    cert_app: Flask, officer_certs: OfficerCerts
) -> None:
    client, response = _present(cert_app, officer_certs.pem["good"], peer=ELSEWHERE)
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert f"from {ELSEWHERE}, which is not a TLS proxy this gateway trusts" in page
    assert client.get("/omc/applications").status_code == 302


def test_a_disabled_account_does_not_sign_in_by_certificate(
    cert_app: Flask, officer_certs: OfficerCerts
) -> None:
    cert_app.extensions["nsw-omc-accounts"].change("aliya", by="test", disabled=True)
    _, response = _present(cert_app, officer_certs.pem["good"])
    assert response.status_code == 401
    assert "no enabled OMC account" in response.get_data(as_text=True)


def test_junk_in_the_header_is_refused(cert_app: Flask) -> None:
    _, response = _present(cert_app, b"-----BEGIN CERTIFICATE-----\nnot a cert\n")
    assert response.status_code == 401
    assert "cannot be read as PEM" in response.get_data(as_text=True)


@pytest.mark.parametrize("how", BREAKAGES)
def test_a_certificate_broken_in_one_field_is_refused_not_a_500(
    cert_app: Flask, officer_certs: OfficerCerts, how: str
) -> None:
    """Issue 15, item 1: the header is outside input; a field `cryptography` parses lazily (the
    signature algorithm, the key, an extension) must not fail later, in the trust checks."""
    der = broken(x509.load_pem_x509_certificate(officer_certs.pem["good"]).public_bytes(
        serialization.Encoding.DER), how)  # fmt: skip
    lines = textwrap.wrap(base64.b64encode(der).decode(), 64)
    pem = "\n".join(["-----BEGIN CERTIFICATE-----", *lines, "-----END CERTIFICATE-----", ""])
    client, response = _present(cert_app, pem.encode())
    assert response.status_code == 401
    assert "cannot be read" in response.get_data(as_text=True)
    assert client.get("/omc/applications").status_code == 302


def test_without_the_header_setting_a_certificate_header_is_ignored(
    app_factory: Callable[..., Flask], officer_certs: OfficerCerts
) -> None:
    app = app_factory(**OMC, pki_dir=officer_certs.directory)
    app.extensions["nsw-omc-accounts"].add(
        "aliya", "operator", PASSWORD, by="test", cert_fingerprint=officer_certs.fingerprint("good")
    )
    _, response = _present(app, officer_certs.pem["good"])
    assert response.status_code == 200
    assert "Sign in" in response.get_data(as_text=True)


@pytest.mark.parametrize("proxies", [(), ("not-an-address",)])
def test_a_header_without_valid_trusted_proxies_does_not_start(
    app_factory: Callable[..., Flask], proxies: tuple[str, ...]
) -> None:
    with pytest.raises(ConfigurationError, match="NSW_OMC_TRUSTED_PROXIES"):
        app_factory(**OMC, omc_client_cert_header=HEADER, omc_trusted_proxies=proxies)
