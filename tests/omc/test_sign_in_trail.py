"""OMC sign-ins in the trail: every attempt on an existing account (by password or certificate, let
in or refused) and every sign-out is one `omc-sign-in` / `omc-sign-out` entry in the Merkle log; a
name that is no account leaves an entry without the name."""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from flask import Flask
from sqlalchemy import select

from gateway.pki.dev import DevPki
from gateway.storage.models import MessageRow, OmcAccountRow
from gateway.trail.merkle import leaf_hash, verify_inclusion
from tests.omc.conftest import OMC, PASSWORD, csrf, sign_in
from tests.omc.test_client_cert import HEADER, PROXY

KINDS = ("omc-sign-in", "omc-sign-out")


def trail(app: Flask, username: str | None = None) -> list[dict[str, Any]]:
    """The sign-in and sign-out entries, oldest first (of one officer if `username`); `seq` is None
    for one still queued for the integrator."""
    with app.extensions["nsw"].store.reading() as s:
        rows = s.scalars(
            select(MessageRow).where(MessageRow.kind.in_(KINDS)).order_by(MessageRow.id)
        ).all()
        found = [
            {
                "seq": r.seq,
                "kind": r.kind,
                "direction": r.direction,
                "counterpart": r.counterpart,
                "content_type": r.content_type,
                "application_id": r.application_id,
                "body": json.loads(r.body),
            }
            for r in rows
        ]
    return [e for e in found if username is None or e["body"]["username"] == username]


def one(app: Flask, username: str) -> dict[str, Any]:
    entries = trail(app, username)
    assert len(entries) == 1, entries
    return entries[0]


def assert_entry(entry: dict[str, Any], username: str, method: str, outcome: str) -> None:
    assert entry["kind"] == ("omc-sign-out" if outcome == "signed-out" else "omc-sign-in")
    assert entry["direction"] == "in" and entry["counterpart"] == f"officer:{username}"
    assert entry["content_type"] == "application/json" and entry["application_id"] is None
    body = entry["body"]
    assert (body["username"], body["method"], body["outcome"]) == (username, method, outcome)
    assert body["client_address"] == "127.0.0.1"
    assert dt.datetime.fromisoformat(body["at"]).tzinfo is not None


def last_login(app: Flask, username: str) -> dt.datetime | None:
    with app.extensions["nsw"].store.reading() as s:
        at: dt.datetime | None = s.get_one(OmcAccountRow, username).last_login_at
        return at


def test_a_password_sign_in_is_recorded(omc_app: Flask) -> None:
    assert sign_in(omc_app.test_client(), "phy").status_code == 302
    entry = one(omc_app, "phy")
    assert_entry(entry, "phy", "password", "signed-in")
    assert (entry["body"]["role"], entry["body"]["agency"]) == ("agency-officer", "phytosanitary")
    assert "certificate_sha256" not in entry["body"]
    assert PASSWORD not in json.dumps(entry["body"])


def test_a_wrong_password_is_recorded_with_the_count_in_the_same_commit(omc_app: Flask) -> None:
    assert sign_in(omc_app.test_client(), "op", "not the password").status_code == 401
    assert_entry(one(omc_app, "op"), "op", "password", "wrong-password")
    with omc_app.extensions["nsw"].store.reading() as s:
        assert s.get_one(OmcAccountRow, "op").failed_logins == 1


def test_the_attempt_that_locks_and_those_refused_while_locked_are_recorded(
    omc_app: Flask,
) -> None:
    client = omc_app.test_client()
    for _ in range(5):
        assert sign_in(client, "op", "guess").status_code == 401
    assert sign_in(client, "op").status_code == 401  # the right password, while locked
    outcomes = [e["body"]["outcome"] for e in trail(omc_app, "op")]
    assert outcomes == ["wrong-password"] * 4 + ["locked-now", "locked"]


def test_a_disabled_account_s_attempt_is_recorded(omc_app: Flask) -> None:
    omc_app.extensions["nsw-omc-accounts"].change("op", by="test", disabled=True)
    assert sign_in(omc_app.test_client(), "op").status_code == 401
    assert_entry(one(omc_app, "op"), "op", "password", "disabled")
    assert last_login(omc_app, "op") is None


def test_a_sign_out_is_recorded(omc_app: Flask, client_as: Callable[[str], Any]) -> None:
    operator = client_as("op")
    token = csrf(operator, "/omc/applications")
    assert operator.post("/omc/logout", data={"csrf_token": token}).status_code == 302
    entries = trail(omc_app, "op")
    assert [e["body"]["outcome"] for e in entries] == ["signed-in", "signed-out"]
    assert_entry(entries[1], "op", "password", "signed-out")


def test_an_unknown_name_leaves_an_entry_without_the_name(
    omc_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    # The entry is there so that a refusal costs the same writes for every name (issue 15, item
    # 10); the name is not, since it may be a password typed into the wrong field.
    typed = "my-secret-pass-typed-as-name"
    with caplog.at_level(logging.INFO):
        assert sign_in(omc_app.test_client(), typed, "whatever").status_code == 401
    [entry] = trail(omc_app)
    assert entry["counterpart"] == "officer:(unknown name)"
    assert entry["body"]["username"] is None and entry["body"]["outcome"] == "unknown-name"
    with omc_app.extensions["nsw"].store.reading() as s:
        rows = s.scalars(select(MessageRow)).all()
        assert rows  # the accounts' creation is there
        for r in rows:
            stored = bytes(r.body) + bytes(r.entry) + (r.counterpart or "").encode()
            assert typed.encode() not in stored
    assert typed not in caplog.text


@pytest.fixture
def cert_app(app_factory: Callable[..., Flask], pki: DevPki) -> tuple[Flask, bytes, str]:
    """An OMC taking certificates from the test client's address, the dev PKI's officer bound to
    the account "aliya": (app, that certificate's PEM, its SHA-256 fingerprint)."""
    app = app_factory(**OMC, omc_client_cert_header=HEADER, omc_trusted_proxies=(PROXY,))
    pem = pki.cert_path("officer-nurpeisova").read_bytes()
    fingerprint = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex()
    app.extensions["nsw-omc-accounts"].add(
        "aliya", "operator", PASSWORD, by="test", cert_fingerprint=fingerprint
    )
    return app, pem, fingerprint


def _present(app: Flask, pem: bytes) -> int:
    response = app.test_client().get(
        "/omc/login", headers={HEADER: urllib.parse.quote(pem.decode())}
    )
    return response.status_code


def test_a_certificate_sign_in_is_recorded_and_sets_the_last_sign_in(
    cert_app: tuple[Flask, bytes, str],
) -> None:
    app, pem, fingerprint = cert_app
    assert last_login(app, "aliya") is None
    assert _present(app, pem) == 302
    entry = one(app, "aliya")
    assert_entry(entry, "aliya", "certificate", "signed-in")
    assert entry["body"]["certificate_sha256"] == fingerprint
    assert last_login(app, "aliya") is not None


def test_a_disabled_account_s_certificate_is_recorded(cert_app: tuple[Flask, bytes, str]) -> None:
    app, pem, fingerprint = cert_app
    app.extensions["nsw-omc-accounts"].change("aliya", by="test", disabled=True)
    assert _present(app, pem) == 401
    entry = one(app, "aliya")
    assert_entry(entry, "aliya", "certificate", "disabled")
    assert entry["body"]["certificate_sha256"] == fingerprint
    assert last_login(app, "aliya") is None


def test_sign_ins_are_in_the_merkle_log_and_on_the_audit_page(
    omc_app: Flask, client_as: Callable[[str], Any]
) -> None:
    sign_in(omc_app.test_client(), "op", "not the password")
    auditor = client_as("aud")
    svc = omc_app.extensions["nsw"]
    head = svc.auditor.issue_tree_head()
    entries = trail(omc_app)
    assert [e["body"]["outcome"] for e in entries] == ["wrong-password", "signed-in"]
    with svc.store.reading() as s:
        for e in entries:
            row = s.scalars(select(MessageRow).where(MessageRow.seq == e["seq"])).one()
            proof = svc.auditor.inclusion(row.seq, head.size)
            verify_inclusion(leaf_hash(bytes(row.entry)), row.seq, head.size, proof, head.root)
    page = auditor.get("/omc/audit").get_data(as_text=True)
    assert "OMC sign-ins" in page and "wrong password" in page  # the outcome as label() says it
    assert f'href="/omc/trail/{entries[0]["seq"]}"' in page
    shown = auditor.get(f"/omc/trail/{entries[0]['seq']}").get_data(as_text=True)
    assert "omc-sign-in" in shown and "Verified" in shown
