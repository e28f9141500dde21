"""The dev PKI: who is in it, what each certificate says, files, modes, and idempotent init."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import stat
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.domain.identifiers import Bin
from gateway.errors import ConfigurationError
from gateway.pki.dev import DevPki, describe, init_dev_pki
from gateway.pki.profiles import DEVICES, PrivateKey, make_crl

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
E = TypeVar("E", bound=x509.ExtensionType)

TRADERS = {
    "trader-steppe": ("Steppe Agro LLP", "210540012341", rsa.RSAPublicKey),
    "trader-altyn": ("Altyn Logistics LLP", "190340025677", ec.EllipticCurvePublicKey),
    "trader-kaztrans": ("KazTrans Carrier LLP", "181240044780", rsa.RSAPublicKey),
    "trader-expired": ("Kaspi Trade LLP", "221140008918", rsa.RSAPublicKey),
    "trader-revoked": ("Revoked Goods LLP", "200740033101", rsa.RSAPublicKey),
}
CODES = ("customs", "health", "transport", "police", "veterinary", "phytosanitary", "treasury")
AGENCIES = [f"agency-{code}" for code in CODES]
LEAVES = ["gateway", *AGENCIES, *TRADERS]
NEW_DEVICES = ("device-expired", "device-revoked")  # added to the dev PKI after the others


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("pki"), now=NOW)


def _ext(cert: x509.Certificate, kind: type[E]) -> x509.Extension[E]:
    return cert.extensions.get_extension_for_class(kind)


def _attr(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]


def test_manifest_lists_exactly_the_parties_with_roles(pki: DevPki) -> None:
    manifest = json.loads(pki.manifest_path.read_text())
    roles = {p["slug"]: p["role"] for p in manifest["parties"]}
    expected = {"root-ca": "root-ca", "issuing-ca": "issuing-ca", "gateway": "gateway"}
    expected |= {slug: "agency" for slug in AGENCIES} | {slug: "trader" for slug in TRADERS}
    expected |= {spec.slug: "device" for spec in DEVICES}
    expected |= {"officer-nurpeisova": "officer"}
    assert roles == expected
    assert pki.bins == {slug: bin_ for slug, (_, bin_, _) in TRADERS.items()}
    assert {p["slug"]: p["agency"] for p in manifest["parties"] if p["agency"]} == {
        f"agency-{code}": code for code in CODES
    }


def test_manifest_fingerprints_match_the_files(pki: DevPki) -> None:
    for party in pki.parties:
        cert = pki.certificate(party.slug)
        assert party.sha256 == cert.fingerprint(hashes.SHA256()).hex()
        assert party.cert == f"{party.slug}.pem" and party.key == f"{party.slug}.key"


def test_cas_are_a_root_and_an_issuing_ca_with_path_lengths(pki: DevPki) -> None:
    root, issuing = pki.certificate("root-ca"), pki.certificate("issuing-ca")
    assert _attr(root, NameOID.COMMON_NAME) == ["NSW Dev Root CA"]
    assert _attr(issuing, NameOID.COMMON_NAME) == ["NSW Dev Issuing CA"]
    root.verify_directly_issued_by(root)
    issuing.verify_directly_issued_by(root)
    for cert, path_length in ((root, 1), (issuing, 0)):
        constraints = _ext(cert, x509.BasicConstraints)
        assert constraints.critical
        assert (constraints.value.ca, constraints.value.path_length) == (True, path_length)
        usage = _ext(cert, x509.KeyUsage).value
        assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert root.not_valid_after_utc - NOW >= dt.timedelta(days=3650)


@pytest.mark.parametrize("slug", LEAVES)
def test_every_leaf_is_a_signing_cert_issued_by_the_intermediate(pki: DevPki, slug: str) -> None:
    cert, issuing = pki.certificate(slug), pki.certificate("issuing-ca")
    cert.verify_directly_issued_by(issuing)
    assert _ext(cert, x509.BasicConstraints).value.ca is False
    usage = _ext(cert, x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    ski = _ext(issuing, x509.SubjectKeyIdentifier).value
    assert _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == ski.digest
    assert _ext(cert, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(
        cert.public_key()
    )
    if slug != "trader-expired":
        assert cert.not_valid_after_utc - cert.not_valid_before_utc > dt.timedelta(days=729)
        assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc


@pytest.mark.parametrize("slug", list(TRADERS))
def test_trader_subject_looks_like_an_nca_legal_entity_cert(pki: DevPki, slug: str) -> None:
    company, bin_, key_type = TRADERS[slug]
    cert = pki.certificate(slug)
    assert _attr(cert, NameOID.COUNTRY_NAME) == ["KZ"]
    assert _attr(cert, NameOID.ORGANIZATION_NAME) == [company]
    assert _attr(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == [f"BIN{bin_}"]
    (serial,) = _attr(cert, NameOID.SERIAL_NUMBER)
    assert serial.startswith("IIN")
    Bin(serial[3:])  # raises unless the IIN passes the check digit
    assert pki.party(slug).iin == serial[3:]
    assert len(_attr(cert, NameOID.COMMON_NAME)) == 1
    eku = set(_ext(cert, x509.ExtendedKeyUsage).value)
    assert eku == {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION}
    key = cert.public_key()
    assert isinstance(key, key_type)
    if isinstance(key, rsa.RSAPublicKey):
        assert key.key_size == 2048
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"


def test_gateway_and_agency_subjects(pki: DevPki) -> None:
    gateway = pki.certificate("gateway")
    assert _attr(gateway, NameOID.COMMON_NAME) == ["NSW Gateway"]
    assert _attr(gateway, NameOID.ORGANIZATION_NAME) == ["National Single Window"]
    for slug in AGENCIES:
        assert _attr(pki.certificate(slug), NameOID.ORGANIZATIONAL_UNIT_NAME) == [slug[7:]]


def test_the_omc_officer_holds_an_authentication_certificate(pki: DevPki) -> None:
    cert = pki.certificate("officer-nurpeisova")
    cert.verify_directly_issued_by(pki.certificate("issuing-ca"))
    assert _attr(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == ["Operative Management Centre"]
    Bin(pki.party("officer-nurpeisova").iin or "")  # the IIN passes its check digit
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    usage = _ext(cert, x509.KeyUsage).value
    assert usage.digital_signature and not usage.content_commitment and not usage.key_cert_sign


@pytest.mark.parametrize("slug", ["trader-expired", "device-expired"])
def test_the_expired_trader_and_device_ended_yesterday(pki: DevPki, slug: str) -> None:
    cert = pki.certificate(slug)
    assert cert.not_valid_after_utc == NOW - dt.timedelta(days=1)
    assert cert.not_valid_before_utc == NOW - dt.timedelta(days=400)


def test_crls_list_only_the_revoked_parties_and_are_signed_by_their_cas(pki: DevPki) -> None:
    crl = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    root_crl = x509.load_pem_x509_crl(pki.root_crl_path.read_bytes())
    issuing, root = pki.certificate("issuing-ca"), pki.certificate("root-ca")
    assert crl.issuer == issuing.subject and root_crl.issuer == root.subject
    assert crl.is_signature_valid(issuing.public_key())  # type: ignore[arg-type]
    assert root_crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert [r.serial_number for r in crl] == [
        pki.certificate(slug).serial_number for slug in ("trader-revoked", "device-revoked")
    ]
    assert list(root_crl) == []
    for each in (crl, root_crl):
        assert each.next_update_utc == NOW + dt.timedelta(days=7)


def test_private_keys_are_pkcs8_0600_and_match_their_certs(pki: DevPki) -> None:
    for party in pki.parties:
        key_path, cert_path = pki.key_path(party.slug), pki.cert_path(party.slug)
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600, key_path
        assert stat.S_IMODE(cert_path.stat().st_mode) == 0o644, cert_path
        pem = key_path.read_bytes()
        assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, not encrypted
        key = serialization.load_pem_private_key(pem, password=None)
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        assert key.public_key().public_bytes(der, public) == pki.certificate(
            party.slug
        ).public_key().public_bytes(der, public)


def test_second_init_loads_the_same_pki(pki: DevPki) -> None:
    before = {p.slug: pki.key_path(p.slug).read_bytes() for p in pki.parties}
    again = init_dev_pki(pki.directory, now=NOW + dt.timedelta(days=1))
    assert again == pki
    assert {p.slug: again.key_path(p.slug).read_bytes() for p in again.parties} == before


def test_force_makes_a_new_pki_and_tightens_loose_key_modes(pki: DevPki, tmp_path: Path) -> None:
    copy = tmp_path / "pki"
    shutil.copytree(pki.directory, copy)
    (copy / "gateway.key").chmod(0o644)
    fresh = init_dev_pki(copy, now=NOW, force=True)
    assert {p.sha256 for p in fresh.parties}.isdisjoint({p.sha256 for p in pki.parties})
    assert stat.S_IMODE((copy / "gateway.key").stat().st_mode) == 0o600


def test_a_manifest_naming_missing_files_is_refused_not_overwritten(
    pki: DevPki, tmp_path: Path
) -> None:
    copy = tmp_path / "pki"
    shutil.copytree(pki.directory, copy)
    (copy / "trader-altyn.key").unlink()
    with pytest.raises(ConfigurationError, match=r"incomplete \(missing trader-altyn.key\)"):
        init_dev_pki(copy)
    assert (copy / "gateway.key").read_bytes() == pki.key_path("gateway").read_bytes()


def test_an_older_pki_gets_the_revoked_device_on_a_new_crl(pki: DevPki, tmp_path: Path) -> None:
    """Made before the retired devices existed: they are added, the revoked one on a CRL that
    keeps the earlier entries and has a higher number; no existing key or certificate changes."""
    copy = tmp_path / "pki"
    shutil.copytree(pki.directory, copy)
    older = {"trader-revoked": pki.certificate("trader-revoked").serial_number}
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["parties"] = [p for p in manifest["parties"] if p["slug"] not in NEW_DEVICES]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    for slug in NEW_DEVICES:
        (copy / f"{slug}.pem").unlink()
        (copy / f"{slug}.key").unlink()
    issuing = pki.certificate("issuing-ca")
    (copy / "crl.pem").write_bytes(  # the CRL as it was: only the revoked trader
        make_crl(issuing, _issuing_key(pki), [(older["trader-revoked"], NOW)], now=NOW)
        .public_bytes(serialization.Encoding.PEM)
    )  # fmt: skip
    later = NOW + dt.timedelta(days=30)
    again = init_dev_pki(copy, now=later)
    assert {p.slug for p in again.parties} == {p.slug for p in pki.parties}
    kept = {p.slug: p.sha256 for p in pki.parties if p.slug not in NEW_DEVICES}
    assert {p.slug: p.sha256 for p in again.parties if p.slug in kept} == kept
    crl = x509.load_pem_x509_crl((copy / "crl.pem").read_bytes())
    assert crl.is_signature_valid(issuing.public_key())  # type: ignore[arg-type]
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    assert crl.next_update_utc == later + dt.timedelta(days=7)
    revoked = {r.serial_number: r.revocation_date_utc for r in crl}
    assert revoked == {
        older["trader-revoked"]: NOW,
        again.certificate("device-revoked").serial_number: later,
    }
    assert again.certificate("device-expired").not_valid_after_utc == later - dt.timedelta(days=1)


def _issuing_key(pki: DevPki) -> PrivateKey:
    key = serialization.load_pem_private_key(pki.key_path("issuing-ca").read_bytes(), None)
    assert isinstance(key, PrivateKey)
    return key


def test_unknown_slug_names_the_known_ones(pki: DevPki) -> None:
    with pytest.raises(KeyError, match="trader-steppe"):
        pki.cert_path("trader-nobody")


def test_describe_names_every_party_and_the_revoked_one(pki: DevPki) -> None:
    text = "\n".join(describe(pki))
    for party in pki.parties:
        assert party.slug in text and party.sha256 in text
    assert "BIN 210540012341" in text
    assert "revoked: trader-revoked, device-revoked" in text
    assert "root-crl.pem" in text and "revoked: none" in text
