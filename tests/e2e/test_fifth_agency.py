"""Issue 5 item 7: a fifth agency joins from data alone — contract, mappings, routing rule, simulator
configuration and its certificate — and takes part in a decision, with no change to gateway/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from gateway.app import create_app
from gateway.bootstrap import build_services
from gateway.pki.profiles import PartySpec, _name, issue_certificate, new_key
from gateway.resources import shipped
from simulators.server import start_configured_agency
from tests.gateway_fixtures import KeyringClient, gateway_config
from tests.paths import REPO_ROOT
from tests.polling import wait_until
from tests.serving import serving

DATA = REPO_ROOT / "tests" / "data" / "fifth_agency"


def with_fifth_agency(tmp: Path) -> Path:
    """The project's mappings plus the fifth agency's entry, rule and mapping folder."""
    mappings = tmp / "mappings"
    shutil.copytree(shipped("mappings"), mappings)
    for name in ("agencies.toml", "routing.toml"):
        with (mappings / name).open("a", encoding="utf-8") as out:
            out.write("\n" + (DATA / name).read_text(encoding="utf-8"))
    shutil.copytree(
        DATA / "mappings" / "agencies" / "radiation", mappings / "agencies" / "radiation"
    )
    return mappings


def pki_with_radiation(pki_dir: Path, tmp: Path) -> Path:
    """A copy of the test PKI with a certificate for the new agency, issued by the issuing CA."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    directory = tmp / "pki"
    shutil.copytree(pki_dir, directory)
    issuer_cert = x509.load_pem_x509_certificate((directory / "issuing-ca.pem").read_bytes())
    issuer_key = serialization.load_pem_private_key(
        (directory / "issuing-ca.key").read_bytes(), password=None
    )
    spec = PartySpec(
        "agency-radiation",
        "agency",
        _name(
            (NameOID.COUNTRY_NAME, "KZ"),
            (NameOID.ORGANIZATION_NAME, "Radiation Control Service"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "radiation"),
            (NameOID.COMMON_NAME, "Radiation Control"),
        ),
        agency="radiation",
    )
    key = new_key("rsa2048")
    import datetime as dt

    cert = issue_certificate(spec, key, (issuer_cert, issuer_key), dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
    (directory / "agency-radiation.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "agency-radiation.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return directory


@pytest.mark.parametrize(
    ("edit", "verdict", "radiation_state"),
    [
        (None, "granted", "granted"),  # customs charges: granted, not released
        (lambda raw: raw.replace(b"0808108000", b"2844100000"), None, "inspection"),
    ],
)
def test_fifth_agency_joins_a_decision_from_data_only(  # type: ignore[no-untyped-def]
    pki, database_url, agencies, signed_sample, tmp_path, edit, verdict, radiation_state
) -> None:
    pki_dir = pki_with_radiation(pki.directory, tmp_path)
    radiation = start_configured_agency(DATA / "simulator.toml", pki_dir=pki_dir)
    config = gateway_config(
        pki,
        database_url,
        {**agencies, "radiation": radiation.url},
        mappings_dir=with_fifth_agency(tmp_path),
        pki_dir=pki_dir,
        poll_interval_s=0.05,
    )
    services = build_services(config)
    try:
        with serving(create_app(config, services)) as url:
            client = KeyringClient(url, pki)
            submitted = client.submit(signed_sample("fresh-apples-import", edit=edit))
            assert "radiation" in submitted["agencies"]
            status = wait_until(
                lambda: (s := client.status(submitted["id"]))["status"] == "decided" and s,
                what="the application decided",
            )
            cases = {c["agency"]: c for c in status["cases"]}
            # The six services and radiation; radioactive goods: customs, transport, police, radiation.
            assert len(cases) == (6 if verdict else 4)
            assert cases["radiation"]["state"] == radiation_state
            if verdict:
                assert status["verdict"] == verdict
                assert cases["radiation"]["permit_number"].startswith("KZ-RAD-")
            else:
                assert status["verdict"] in ("inspection", "refused")
                assert "dosimetric inspection" in cases["radiation"]["inspection"]
    finally:
        services.close()
        radiation.stop()
