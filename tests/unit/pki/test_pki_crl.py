"""Issue 14 item 3: a dev PKI does not rot. `nsw pki init` (and so the demo) re-issues CRLs that
are stale or about to be, keeping their entries and raising their numbers; nothing else changes."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from cryptography import x509

from gateway.errors import RevokedCertificate, StaleRevocationList
from gateway.pki.dev import CRL_FILE, ROOT_CRL_FILE, DevPki, init_dev_pki
from gateway.trust.certificates import TrustStore

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
MONTH_AGO = NOW - dt.timedelta(days=30)


@pytest.fixture(scope="module")
def old_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    """A dev PKI made a month ago: both CRLs are three weeks past their next update."""
    return init_dev_pki(tmp_path_factory.mktemp("old-pki"), now=MONTH_AGO)


def _copy(pki: DevPki, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pki.directory, tmp_path / "pki"))


def _crl(directory: Path, name: str) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl((directory / name).read_bytes())


def _number(crl: x509.CertificateRevocationList) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def _trader(directory: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((directory / "trader-steppe.pem").read_bytes())


def test_a_month_old_pki_is_refused_until_init_renews_its_crls(
    old_pki: DevPki, tmp_path: Path
) -> None:
    directory = _copy(old_pki, tmp_path)
    store = TrustStore.from_directory(directory, lambda: NOW)
    with pytest.raises(StaleRevocationList, match="cannot be checked now"):
        store.verify(_trader(directory))
    before = {p.name: p.read_bytes() for p in directory.iterdir() if p.suffix in (".pem", ".key")}
    old = {name: _crl(directory, name) for name in (CRL_FILE, ROOT_CRL_FILE)}

    init_dev_pki(directory, now=NOW)

    for name in (CRL_FILE, ROOT_CRL_FILE):
        crl = _crl(directory, name)
        assert crl.last_update_utc == NOW and crl.next_update_utc == NOW + dt.timedelta(days=7)
        assert _number(crl) == _number(old[name]) + 1
        assert {(r.serial_number, r.revocation_date_utc) for r in crl} == {
            (r.serial_number, r.revocation_date_utc) for r in old[name]
        }
    after = {p.name: p.read_bytes() for p in directory.iterdir() if p.suffix in (".pem", ".key")}
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {CRL_FILE, ROOT_CRL_FILE}  # no key or certificate changes
    signer = TrustStore.from_directory(directory, lambda: NOW).verify(_trader(directory))
    assert signer.bin == "210540012341"


def test_a_revoked_certificate_stays_revoked_after_renewal(old_pki: DevPki, tmp_path: Path) -> None:
    directory = _copy(old_pki, tmp_path)
    init_dev_pki(directory, now=NOW)
    revoked = x509.load_pem_x509_certificate((directory / "trader-revoked.pem").read_bytes())
    with pytest.raises(RevokedCertificate, match="was revoked"):
        TrustStore.from_directory(directory, lambda: NOW).verify(revoked)


@pytest.mark.parametrize(("age", "renewed"), [(dt.timedelta(days=5), False),
                                              (dt.timedelta(days=6, hours=1), True)])  # fmt: skip
def test_a_crl_is_renewed_only_with_less_than_a_day_left(
    tmp_path: Path, age: dt.timedelta, renewed: bool
) -> None:
    directory = tmp_path / "pki"
    init_dev_pki(directory, now=NOW - age)
    before = (directory / CRL_FILE).read_bytes()
    init_dev_pki(directory, now=NOW)
    assert ((directory / CRL_FILE).read_bytes() != before) is renewed


def test_a_stale_crl_tells_the_operator_which_file_to_replace_and_how(
    old_pki: DevPki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = _copy(old_pki, tmp_path)
    store = TrustStore.from_directory(directory, lambda: NOW)
    with pytest.raises(StaleRevocationList) as refused:
        store.verify(_trader(directory))
    (record,) = [r for r in caplog.records if r.name == "gateway.trust.certificates"]
    message = record.getMessage()
    assert str(directory / CRL_FILE) in message
    assert "Fetch a fresh CRL from 'CN=NSW Dev Issuing" in message and "NSW_PKI_DIR" in message
    assert str(directory) not in refused.value.detail  # the trader is not shown server paths
