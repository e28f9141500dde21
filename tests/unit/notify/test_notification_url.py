"""The notification URL policy: a trader's URL must not point the gateway at its own network —
judged by where the name resolves, when registered and again before each attempt."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from gateway.errors import CallbackUrlRefused
from gateway.fanout.dispatch import RetryPolicy
from gateway.notify.delivery import Notifier, UrlPolicy, pinned, pinned_session
from gateway.pki.dev import DevPki
from gateway.storage.notifications import NotificationClaim
from gateway.trust.xmlsig import SigningIdentity
from simulators.trader_inbox import start_trader_inbox


def resolving_to(*addresses: str) -> Any:
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def unresolvable(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


@pytest.mark.parametrize("address", ["203.0.113.7", "2001:db8::1"])
def test_a_documentation_range_is_not_public(address: str) -> None:
    # 203.0.113.0/24 and 2001:db8::/32 are reserved for documentation: not global either.
    with pytest.raises(CallbackUrlRefused, match="not a public address"):
        UrlPolicy(resolver=resolving_to(address)).check("https://trader.example/in")


def test_a_name_that_resolves_to_public_addresses_is_accepted() -> None:
    policy = UrlPolicy(resolver=resolving_to("8.8.8.8", "2a00:1450:4001:80b::200e"))
    assert policy.check("https://trader.example:8443/nsw") == "https://trader.example:8443/nsw"


@pytest.mark.parametrize(
    "address", ["10.1.2.3", "192.168.0.5", "172.16.9.9", "127.0.0.1", "::1", "fe80::1%eth0",
                "169.254.169.254", "100.64.0.1", "::ffff:10.0.0.1"],
)  # fmt: skip
def test_a_name_that_resolves_inside_is_refused(address: str) -> None:
    with pytest.raises(CallbackUrlRefused, match="not a public address"):
        UrlPolicy(resolver=resolving_to("8.8.8.8", address)).check("https://trader.example/in")


# IPv6 forms that carry a private IPv4 address (issue 15, item 8): Python 3.11 counts several of
# them as global, so the embedded address is judged. Teredo clients are stored inverted.
@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 (RFC 6052) of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, the cloud metadata service
        "64:ff9b:1::a00:5",  # local-use NAT64 (RFC 8215): no fixed embedding, always refused
        "64:ff9b:1:808:808::",  # ... even when one reading of it looks public
        "2002:7f00:1::",  # 6to4 (RFC 3056) of 127.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
        "2002:c0a8:1::1",  # 6to4 of 192.168.0.1
        "::127.0.0.1",  # IPv4-compatible (RFC 4291 §2.5.5.1)
        "::10.0.0.1",
        "::ffff:169.254.169.254",  # IPv4-mapped
        "2001:0:808:808::f5ff:fffe",  # Teredo, public server, client 10.0.0.1 (inverted)
        "2001:0:a00:1::f7f7:f7f7",  # Teredo, server 10.0.0.1
        "2001:0:808:808::f7f7:f7f7",  # Teredo, both public: Teredo itself is not global
    ],
)
def test_an_ipv6_form_of_an_address_inside_is_refused(address: str) -> None:
    with pytest.raises(CallbackUrlRefused, match="not a public address"):
        UrlPolicy(resolver=resolving_to(address)).check("https://trader.example/in")


@pytest.mark.parametrize(
    "address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"]
)  # fmt: skip
def test_an_ipv6_form_of_a_public_address_is_judged_by_that_address(address: str) -> None:
    assert (
        UrlPolicy(resolver=resolving_to(address)).check("https://t.example/")
        == "https://t.example/"
    )


def test_the_refusal_names_the_ipv4_address_inside() -> None:
    with pytest.raises(CallbackUrlRefused, match=r"an IPv6 form of 169\.254\.169\.254"):
        UrlPolicy(resolver=resolving_to("2002:a9fe:a9fe::")).check("https://[2002:a9fe:a9fe::]/")


def test_an_unresolvable_name_is_refused_with_its_name() -> None:
    with pytest.raises(
        CallbackUrlRefused, match=r"nowhere\.example of the notification URL does not resolve"
    ):
        UrlPolicy(resolver=unresolvable).check("https://nowhere.example/in")


def test_development_settings_allow_plain_http_to_loopback() -> None:
    policy = UrlPolicy(allow_http=True, allow_private=True, resolver=unresolvable)
    assert policy.check("http://127.0.0.1:9000/in") == "http://127.0.0.1:9000/in"
    with pytest.raises(CallbackUrlRefused, match="user name or password"):
        policy.check("http://a:b@127.0.0.1:9000/in")
    with pytest.raises(CallbackUrlRefused, match="cannot be read"):
        policy.check("http://127.0.0.1:99999/in")


class Outcomes:
    """Stands in for the notification store, recording what the notifier reports."""

    def __init__(self) -> None:
        self.delivered_records: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []

    def delivered(self, claim: NotificationClaim, status: int, record: dict[str, Any]) -> None:
        self.delivered_records.append({"status": status, **record})

    def failed(self, claim: NotificationClaim, **outcome: Any) -> None:
        self.failures.append(outcome)


def test_a_name_re_pointed_inside_after_registration_is_not_called(pki: DevPki) -> None:
    identity = SigningIdentity.from_files(
        pki.directory / "gateway.key", pki.directory / "gateway.pem"
    )
    store = Outcomes()
    notifier = Notifier(
        store,  # type: ignore[arg-type]
        identity,
        lambda: dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
        policy=UrlPolicy(resolver=resolving_to("10.0.0.8")),
        retry=RetryPolicy(),
        lease_s=60,
        timeout_s=1,
    )
    claim = NotificationClaim(
        7, "APP-1", "210540012341", "https://trader.example/in", b"<x/>", "00", 1
    )
    notifier.deliver(claim)  # would raise: tests may not connect beyond 127.0.0.1
    [outcome] = store.failures
    assert outcome["retry_at"] is None and outcome["status"] is None
    assert "10.0.0.8" in outcome["error"]


def test_the_notification_goes_to_the_address_that_was_judged(pki: DevPki) -> None:
    # "trader.example" exists only in this resolver: the system resolver never sees it, so the
    # delivery can arrive only by connecting to the address the policy judged.
    identity = SigningIdentity.from_files(
        pki.directory / "gateway.key", pki.directory / "gateway.pem"
    )
    outcomes = Outcomes()
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    with start_trader_inbox(pki_dir=pki.directory) as inbox:
        port = inbox.url.split(":")[2].split("/")[0]
        url = f"http://trader.example:{port}/nsw/decisions"
        decision = _signed_decision(identity)
        notifier = Notifier(
            outcomes,  # type: ignore[arg-type]
            identity,
            lambda: dt.datetime.now(dt.UTC),
            policy=UrlPolicy(allow_http=True, allow_private=True, resolver=resolver),
            retry=RetryPolicy(),
            lease_s=60,
            timeout_s=5,
        )
        notifier.deliver(NotificationClaim(9, "APP-9", "210540012341", url, decision, "00", 1))
        assert outcomes.failures == []
        assert inbox.state.refused == []  # the signature over http://trader.example:... holds
        assert [r.body for r in inbox.received] == [decision]
    assert lookups == ["trader.example"]  # resolved once, judged, connected to as resolved
    assert outcomes.delivered_records[0]["address"] == "127.0.0.1"


def _signed_decision(identity: SigningIdentity) -> bytes:
    from gateway.trust.xmlparse import parse_xml
    from gateway.trust.xmlsig import sign_enveloped

    xml = (
        b'<Decision xmlns="urn:kz:nsw:decision:1"><ApplicationId>APP-9</ApplicationId>'
        b"<Outcome>released</Outcome></Decision>"
    )
    return sign_enveloped(parse_xml(xml), identity)


def test_https_to_a_pinned_address_still_checks_the_hosts_certificate(tmp_path: Path) -> None:
    """Connecting to 127.0.0.1 for https://trader.example/: SNI and the certificate check use
    the name, so the right certificate passes and one for another name does not."""
    ca_key, ca = _ca()
    good = _tls_server(tmp_path / "good", ca_key, ca, "trader.example")
    wrong = _tls_server(tmp_path / "wrong", ca_key, ca, "elsewhere.example")
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    try:
        for server, expected in ((good, 200), (wrong, None)):
            url = f"https://trader.example:{server.server_port}/in"
            request = requests.Request("POST", url, data=b"x").prepare()
            request.url = pinned(url, "127.0.0.1")
            request.headers["Host"] = f"trader.example:{server.server_port}"
            with pinned_session(url) as session:
                session.verify = str(tmp_path / "ca.pem")
                if expected is None:
                    with pytest.raises(requests.exceptions.SSLError, match=r"trader\.example"):
                        session.send(request, timeout=5)
                else:
                    assert session.send(request, timeout=5).status_code == expected
    finally:
        for server in (good, wrong):
            server.shutdown()
            server.server_close()


def _ca() -> tuple[Any, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, cert


def _tls_server(directory: Path, ca_key: Any, ca: x509.Certificate, host: str) -> Any:
    directory.mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")

    def answer(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, answer, ssl_context=context)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server
