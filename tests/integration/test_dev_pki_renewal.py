"""Issue 14 item 3, through the API: a dev PKI made a month ago is refused at intake until
`pki init` renews its CRLs, then the same trader's application is accepted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from gateway.pki.dev import init_dev_pki
from gateway.resources import shipped
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped
from tests.responses import json_of

XML = {"Content-Type": "application/xml"}


def test_intake_accepts_again_after_pki_init_renews_a_month_old_crl(
    app_factory: Callable[..., Flask], tmp_path: Path
) -> None:
    month_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    pki = init_dev_pki(tmp_path / "pki", now=month_ago)
    steppe = SigningIdentity.from_files(
        pki.key_path("trader-steppe"),
        pki.cert_path("trader-steppe"),
        pki.directory / "issuing-ca.pem",
    )
    signed = sign_enveloped(
        parse_xml((shipped("samples") / "fresh-apples-import.xml").read_bytes()), steppe
    )
    client = app_factory(
        pki_dir=pki.directory,
        gateway_key=pki.key_path("gateway"),
        gateway_cert=pki.cert_path("gateway"),
    ).test_client()

    stale = client.post("/api/v1/applications", data=signed, headers=XML)
    assert stale.status_code == 503 and json_of(stale)["type"] == "urn:kz:nsw:problem:stale-crl"

    init_dev_pki(pki.directory)  # what `nsw pki init` and the demo do
    accepted = client.post("/api/v1/applications", data=signed, headers=XML)
    assert accepted.status_code == 202, accepted.json
