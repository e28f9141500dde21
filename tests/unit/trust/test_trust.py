"""TrustStore: each step of `verify` accepts the dev PKI's good certificates, refuses the rest."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.errors import (
    CertificateNotForClientAuth,
    CertificateNotForSigning,
    ConfigurationError,
    ExpiredCertificate,
    RevokedCertificate,
    StaleRevocationList,
    UntrustedCertificate,
)
from gateway.pki.dev import DevPki, init_dev_pki
from gateway.pki.profiles import PrivateKey, make_crl
from gateway.trust.certificates import TrustStore, load_certificates
from gateway.trust.checks import check_client_auth_use

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
GOOD = ["gateway", "agency-customs", "agency-health", "agency-transport", "agency-police"]
GOOD += ["agency-veterinary", "agency-phytosanitary"]
GOOD += ["trader-steppe", "trader-altyn", "trader-kaztrans"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("pki"), now=NOW)


def at(moment: dt.datetime) -> Callable[[], dt.datetime]:
    return lambda: moment


@pytest.fixture
def store(pki: DevPki) -> TrustStore:
    return TrustStore.from_directory(pki.directory, at(NOW + dt.timedelta(hours=1)))


@pytest.fixture
def pki_copy(pki: DevPki, tmp_path: Path) -> Path:
    """A private copy of the PKI directory, for tests that replace its CRL files."""
    shutil.copytree(pki.directory, tmp_path / "pki")
    return tmp_path / "pki"


def key_of(pki: DevPki, slug: str) -> PrivateKey:
    key = serialization.load_pem_private_key(pki.key_path(slug).read_bytes(), password=None)
    assert isinstance(key, PrivateKey)
    return key


def make_cert(
    subject: x509.Name | str,
    signer: tuple[x509.Name, PrivateKey],
    *,
    ca: bool = False,
    usage: str = "sign",
    algorithm: hashes.SHA224 | hashes.SHA256 | None = None,
    purposes: list[x509.ObjectIdentifier] | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A P-256 certificate named `subject`, issued in the name of signer[0] with key signer[1]."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = subject if isinstance(subject, x509.Name) else _cn(subject)
    flags = dict.fromkeys(
        [
            *("digital_signature", "content_commitment", "key_encipherment", "data_encipherment"),
            *("key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
        ],
        False,
    )
    flags.update(
        {"key_cert_sign": True, "crl_sign": True}
        if usage == "ca"
        else {"digital_signature": True, "content_commitment": True}
        if usage == "sign"
        else {"key_agreement": True}
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(signer[0])
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**flags), critical=True)
    )
    if purposes is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
    return builder.sign(signer[1], algorithm or hashes.SHA256()), key


def _cn(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


# --- the good certificates -----------------------------------------------------------------------


@pytest.mark.parametrize("slug", GOOD)
def test_every_good_certificate_verifies_through_the_intermediate(
    pki: DevPki, store: TrustStore, slug: str
) -> None:
    signer = store.verify(pki.certificate(slug))
    assert signer.chain == (
        pki.certificate(slug),
        pki.certificate("issuing-ca"),
        pki.certificate("root-ca"),
    )
    assert signer.fingerprint_sha256 == pki.party(slug).sha256
    assert signer.bin == pki.party(slug).bin


def test_bin_iin_and_subject_come_from_the_trader_certificate(
    pki: DevPki, store: TrustStore
) -> None:
    signer = store.verify(pki.certificate("trader-steppe"))
    assert (signer.bin, signer.iin) == ("210540012341", "850312400128")
    assert signer.subject.startswith("serialNumber=IIN850312400128,CN=Aigerim Sarsenova,")
    gateway = store.verify(pki.certificate("gateway"))
    assert (gateway.bin, gateway.iin) == (None, None)


def test_intermediate_may_come_with_the_signature(pki: DevPki) -> None:
    store = TrustStore([pki.certificate("root-ca")], [], [pki.crl_path, pki.root_crl_path], at(NOW))
    with pytest.raises(UntrustedCertificate, match="does not chain"):
        store.verify(pki.certificate("trader-altyn"))
    signer = store.verify(pki.certificate("trader-altyn"), [pki.certificate("issuing-ca")])
    assert signer.bin == "190340025677"


# --- step 1: a path to an anchor -----------------------------------------------------------------


def test_a_cert_from_another_ca_with_the_same_name_is_untrusted(
    pki: DevPki, store: TrustStore
) -> None:
    issuing_name = pki.certificate("issuing-ca").subject
    impostor_key = ec.generate_private_key(ec.SECP256R1())
    impostor, _ = make_cert(issuing_name, (issuing_name, impostor_key), ca=True, usage="ca")
    leaf, _ = make_cert(pki.certificate("trader-steppe").subject, (issuing_name, impostor_key))
    with pytest.raises(UntrustedCertificate, match="does not chain to a certification authority"):
        store.verify(leaf)
    with pytest.raises(UntrustedCertificate, match="does not chain to a certification authority"):
        store.verify(leaf, [impostor])


def test_a_link_signed_with_a_hash_off_the_allow_list_is_no_link(
    pki: DevPki, store: TrustStore
) -> None:
    issuing = pki.certificate("issuing-ca")
    leaf, _ = make_cert("Weak Hash", (issuing.subject, key_of(pki, "issuing-ca")))
    store.verify(leaf)  # the same certificate with SHA-256 is fine ...
    weak, _ = make_cert(
        "Weak Hash", (issuing.subject, key_of(pki, "issuing-ca")), algorithm=hashes.SHA224()
    )
    with pytest.raises(UntrustedCertificate, match="does not chain"):
        store.verify(weak)  # ... and with SHA-224 it is not


# --- step 2: CAs on the path ---------------------------------------------------------------------


def test_a_leaf_issued_by_a_non_ca_key_is_untrusted(pki: DevPki, store: TrustStore) -> None:
    steppe = pki.certificate("trader-steppe")
    leaf, _ = make_cert("Sub Signer", (steppe.subject, key_of(pki, "trader-steppe")))
    with pytest.raises(UntrustedCertificate, match="is not a certification authority"):
        store.verify(leaf, [steppe])


def test_the_issuing_cas_path_length_zero_forbids_a_sub_ca(pki: DevPki, store: TrustStore) -> None:
    issuing = pki.certificate("issuing-ca")
    sub_ca, sub_key = make_cert(
        "Rogue Sub CA", (issuing.subject, key_of(pki, "issuing-ca")), ca=True, usage="ca"
    )
    leaf, _ = make_cert("Under Rogue", (sub_ca.subject, sub_key))
    with pytest.raises(UntrustedCertificate, match=r"NSW Dev Issuing CA.* may have 0 CA\(s\)"):
        store.verify(leaf, [sub_ca])


# --- step 3: validity ----------------------------------------------------------------------------


def test_the_expired_trader_is_refused_with_its_dates(pki: DevPki, store: TrustStore) -> None:
    with pytest.raises(ExpiredCertificate, match=r"Madina Ospanova.*has expired.*2026-03-01") as e:
        store.verify(pki.certificate("trader-expired"))
    assert e.value.extensions["not_after"] == "2026-03-01T09:30:00Z"


def test_a_certificate_is_not_valid_before_its_start(pki: DevPki) -> None:
    early = TrustStore.from_directory(pki.directory, at(NOW - dt.timedelta(days=1)))
    with pytest.raises(ExpiredCertificate, match="is not valid yet"):
        early.verify(pki.certificate("trader-steppe"))


# --- step 4: usage -------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["issuing-ca", "root-ca"])
def test_a_ca_certificate_presented_as_leaf_may_not_sign(
    pki: DevPki, store: TrustStore, slug: str
) -> None:
    with pytest.raises(CertificateNotForSigning, match="certification authority's certificate"):
        store.verify(pki.certificate(slug))


def test_a_key_agreement_only_certificate_may_not_sign(pki: DevPki, store: TrustStore) -> None:
    issuing = pki.certificate("issuing-ca")
    leaf, _ = make_cert("Encrypt Only", (issuing.subject, key_of(pki, "issuing-ca")), usage="kex")
    with pytest.raises(CertificateNotForSigning, match="not issued for signing"):
        store.verify(leaf)


def test_client_authentication_wants_client_auth_not_signing(
    pki: DevPki, store: TrustStore
) -> None:
    officer = store.verify(pki.certificate("officer-nurpeisova"), usage=check_client_auth_use)
    assert officer.iin == "880407400121" and officer.bin is None
    store.verify(pki.certificate("trader-steppe"), usage=check_client_auth_use)  # lists clientAuth
    with pytest.raises(CertificateNotForClientAuth, match="does not list clientAuth"):
        store.verify(pki.certificate("gateway"), usage=check_client_auth_use)  # no purpose listed
    with pytest.raises(CertificateNotForClientAuth, match="certification authority's"):
        store.verify(pki.certificate("issuing-ca"), usage=check_client_auth_use)


def test_a_key_agreement_client_certificate_authenticates_but_may_not_sign(
    pki: DevPki, store: TrustStore
) -> None:
    issuing = (pki.certificate("issuing-ca").subject, key_of(pki, "issuing-ca"))
    client, _ = make_cert("TLS Client", issuing, usage="kex",
                          purposes=[ExtendedKeyUsageOID.CLIENT_AUTH])  # fmt: skip
    assert store.verify(client, usage=check_client_auth_use).subject == "CN=TLS Client"
    with pytest.raises(CertificateNotForSigning, match="not issued for signing"):
        store.verify(client)
    server, _ = make_cert("TLS Server", issuing, purposes=[ExtendedKeyUsageOID.SERVER_AUTH])
    with pytest.raises(CertificateNotForClientAuth, match="does not list clientAuth"):
        store.verify(server, usage=check_client_auth_use)


# --- step 5: revocation --------------------------------------------------------------------------


def test_the_revoked_trader_is_refused_with_the_date(pki: DevPki, store: TrustStore) -> None:
    with pytest.raises(RevokedCertificate, match=r"Yerlan Tulegenov.*revoked.*on 2026-03-02") as e:
        store.verify(pki.certificate("trader-revoked"))
    assert e.value.extensions["revoked_at"] == "2026-03-02T09:30:00Z"


def test_a_crl_past_its_next_update_is_stale(pki: DevPki) -> None:
    later = TrustStore.from_directory(pki.directory, at(NOW + dt.timedelta(days=7, seconds=1)))
    with pytest.raises(StaleRevocationList, match="due for renewal at 2026-03-09"):
        later.verify(pki.certificate("trader-steppe"))


def test_a_replaced_crl_is_picked_up_by_the_running_store(pki: DevPki, pki_copy: Path) -> None:
    store = TrustStore.from_directory(pki_copy, at(NOW + dt.timedelta(hours=1)))
    steppe = pki.certificate("trader-steppe")
    store.verify(steppe)
    revoked = [(pki.certificate(s).serial_number, NOW) for s in ("trader-revoked", "trader-steppe")]
    newer = make_crl(
        pki.certificate("issuing-ca"), key_of(pki, "issuing-ca"), revoked, now=NOW, number=2
    )
    (pki_copy / "crl.pem").write_bytes(newer.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(RevokedCertificate, match="Aigerim Sarsenova"):
        store.verify(steppe)


def test_a_revoked_intermediate_takes_its_leaves_with_it(pki: DevPki, pki_copy: Path) -> None:
    listed = [(pki.certificate("issuing-ca").serial_number, NOW)]
    crl = make_crl(pki.certificate("root-ca"), key_of(pki, "root-ca"), listed, now=NOW, number=2)
    (pki_copy / "root-crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    store = TrustStore.from_directory(pki_copy, at(NOW + dt.timedelta(hours=1)))
    with pytest.raises(RevokedCertificate, match=r"'CN=NSW Dev Issuing CA.*was revoked"):
        store.verify(pki.certificate("trader-kaztrans"))


def _forged_crl(pki: DevPki, serials: list[int]) -> bytes:
    """A CRL carrying the issuing CA's name and SKI but signed by some other key."""
    issuing = pki.certificate("issuing-ca")
    wrong_key = ec.generate_private_key(ec.SECP256R1())
    listed = [(serial, NOW) for serial in serials]
    forged = make_crl(issuing, wrong_key, listed, now=NOW, number=99)
    return forged.public_bytes(serialization.Encoding.PEM)


def test_a_crl_signed_by_the_wrong_key_is_not_believed(pki: DevPki, pki_copy: Path) -> None:
    # The forgery omits the revoked trader: believing it would un-revoke them.
    (pki_copy / "crl.pem").write_bytes(_forged_crl(pki, []))
    store = TrustStore.from_directory(pki_copy, at(NOW + dt.timedelta(hours=1)))
    with pytest.raises(StaleRevocationList, match="is not signed by that authority"):
        store.verify(pki.certificate("trader-revoked"))


def test_a_forged_crl_next_to_the_genuine_one_changes_nothing(pki: DevPki, tmp_path: Path) -> None:
    forged = tmp_path / "forged.pem"
    forged.write_bytes(_forged_crl(pki, [pki.certificate("trader-steppe").serial_number]))
    store = TrustStore(
        [pki.certificate("root-ca")],
        [pki.certificate("issuing-ca")],
        [forged, pki.crl_path, pki.root_crl_path],
        at(NOW + dt.timedelta(hours=1)),
    )
    assert store.verify(pki.certificate("trader-steppe")).bin == "210540012341"
    with pytest.raises(RevokedCertificate):
        store.verify(pki.certificate("trader-revoked"))


def test_a_missing_crl_is_refused_unless_crls_are_optional(pki: DevPki, pki_copy: Path) -> None:
    (pki_copy / "crl.pem").unlink()
    strict = TrustStore.from_directory(pki_copy, at(NOW))
    with pytest.raises(StaleRevocationList, match="no revocation list from 'CN=NSW Dev Issuing"):
        strict.verify(pki.certificate("trader-steppe"))
    lenient = TrustStore.from_directory(pki_copy, at(NOW), require_crl=False)
    assert lenient.verify(pki.certificate("trader-steppe")).bin == "210540012341"


# --- a verdict remembered -------------------------------------------------------------------------


class Clock:
    """A clock a test moves: the store's verdicts must hold only while their times do."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment


def test_a_remembered_verdict_ends_when_the_crl_is_due(pki: DevPki) -> None:
    clock = Clock(NOW + dt.timedelta(hours=1))
    store = TrustStore.from_directory(pki.directory, clock)
    steppe = pki.certificate("trader-steppe")
    assert store.verify(steppe) is store.verify(steppe)  # the second answer is the first one
    clock.moment = NOW + dt.timedelta(days=7, seconds=1)
    with pytest.raises(StaleRevocationList, match="due for renewal at 2026-03-09"):
        store.verify(steppe)


def test_a_remembered_verdict_ends_with_the_certificate(pki: DevPki) -> None:
    issuing = (pki.certificate("issuing-ca").subject, key_of(pki, "issuing-ca"))
    leaf, _ = make_cert("Short Lived", issuing)  # valid NOW - 1 day .. NOW + 30 days
    clock = Clock(NOW + dt.timedelta(hours=1))
    lenient = TrustStore(
        [pki.certificate("root-ca")], [pki.certificate("issuing-ca")], [], clock, require_crl=False
    )
    lenient.verify(leaf)
    clock.moment = NOW + dt.timedelta(days=30, seconds=1)
    with pytest.raises(ExpiredCertificate, match="has expired"):
        lenient.verify(leaf)
    clock.moment = NOW - dt.timedelta(days=2)  # a clock set back is judged again too
    with pytest.raises(ExpiredCertificate, match="is not valid yet"):
        lenient.verify(leaf)


def test_a_remembered_verdict_is_for_one_use(pki: DevPki, store: TrustStore) -> None:
    issuing = (pki.certificate("issuing-ca").subject, key_of(pki, "issuing-ca"))
    client, _ = make_cert("TLS Client Again", issuing, usage="kex",
                          purposes=[ExtendedKeyUsageOID.CLIENT_AUTH])  # fmt: skip
    store.verify(client, usage=check_client_auth_use)
    with pytest.raises(CertificateNotForSigning, match="not issued for signing"):
        store.verify(client)


def test_a_revocation_stops_a_remembered_intermediate(pki: DevPki, pki_copy: Path) -> None:
    store = TrustStore.from_directory(pki_copy, at(NOW + dt.timedelta(hours=1)))
    kaztrans = pki.certificate("trader-kaztrans")
    store.verify(kaztrans)
    listed = [(pki.certificate("issuing-ca").serial_number, NOW)]
    crl = make_crl(pki.certificate("root-ca"), key_of(pki, "root-ca"), listed, now=NOW, number=2)
    (pki_copy / "root-crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(RevokedCertificate, match=r"'CN=NSW Dev Issuing CA.*was revoked"):
        store.verify(kaztrans)


# --- loading -------------------------------------------------------------------------------------


def test_load_certificates_reads_a_bundle_and_refuses_junk(pki: DevPki, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(
        pki.cert_path("issuing-ca").read_bytes() + pki.cert_path("root-ca").read_bytes()
    )
    assert load_certificates(bundle) == [pki.certificate("issuing-ca"), pki.certificate("root-ca")]
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match=r"junk\.pem"):
        load_certificates(junk)
    with pytest.raises(ConfigurationError, match=r"nowhere/root-ca\.pem"):
        TrustStore.from_directory(tmp_path / "nowhere", at(NOW))
