"""Signer is the declarant, or its registered representative (issue 4, item 3), managed with
`nsw representatives ...` in the gateway's database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gateway.cli.main import main
from gateway.pki.dev import DevPki
from tests.security.conftest import XML, problem_code

STEPPE, KAZTRANS = "210540012341", "181240044780"


@pytest.fixture
def nsw(pki: DevPki, database_url: str) -> Callable[..., str]:
    """nsw(*args): run the CLI against the test database; returns the output (exit code 0)."""

    def run(*args: str) -> str:
        env = {"NSW_DATABASE_URL": database_url, "NSW_PKI_DIR": str(pki.directory)}
        result = CliRunner(env=env).invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run


def _carrier_signs_for_steppe(
    client: FlaskClient, signed_sample: Callable[..., bytes], reference: str
) -> TestResponse:
    body = signed_sample(
        "fresh-apples-import",
        signer="trader-kaztrans",
        edit=lambda raw: raw.replace(b"STEPPE-2026-0001", reference.encode()),
    )
    return client.post("/api/v1/applications", data=body, headers=XML)


def test_representative_signs_only_while_registered(
    client: FlaskClient, signed_sample: Callable[..., bytes], nsw: Callable[..., str]
) -> None:
    refused = _carrier_signs_for_steppe(client, signed_sample, "REP-1")
    assert refused.status_code == 403 and problem_code(refused) == "signer-not-declarant"

    out = nsw("representatives", "add", STEPPE, KAZTRANS, "--role", "carrier", "--note", "POA 17")
    assert "registered as carrier" in out
    assert f"{KAZTRANS} -> {STEPPE} carrier" in nsw("representatives", "list", "--bin", STEPPE)
    accepted = _carrier_signs_for_steppe(client, signed_sample, "REP-2")
    assert accepted.status_code == 202, accepted.json

    assert "1 registration(s)" in nsw("representatives", "revoke", STEPPE, KAZTRANS)
    assert nsw("representatives", "list").strip() == ""
    assert "revoked" in nsw("representatives", "list", "--all")
    again = _carrier_signs_for_steppe(client, signed_sample, "REP-3")
    assert again.status_code == 403 and problem_code(again) == "signer-not-declarant"


def test_registration_is_per_principal(
    client: FlaskClient, signed_sample: Callable[..., bytes], nsw: Callable[..., str]
) -> None:
    nsw("representatives", "add", "190340025677", KAZTRANS, "--role", "customs-representative")
    response = _carrier_signs_for_steppe(client, signed_sample, "REP-4")
    assert response.status_code == 403


def test_cli_refuses_invalid_bins(pki: DevPki, database_url: str) -> None:
    env = {"NSW_DATABASE_URL": database_url, "NSW_PKI_DIR": str(pki.directory)}
    result = CliRunner(env=env).invoke(
        main, ["representatives", "add", "210540012342", KAZTRANS, "--role", "carrier"]
    )
    assert result.exit_code != 0 and "check digit" in result.output.lower()


def test_traders_register_and_list(pki: DevPki, nsw: Callable[..., str]) -> None:
    out = nsw("traders", "register", str(pki.cert_path("trader-kaztrans")))
    assert f"registered for BIN {KAZTRANS}" in out
    assert KAZTRANS in nsw("traders", "list")
    assert "already registered" in nsw("traders", "register", str(pki.cert_path("trader-kaztrans")))


def test_traders_register_refuses_a_revoked_certificate(pki: DevPki, database_url: str) -> None:
    env = {"NSW_DATABASE_URL": database_url, "NSW_PKI_DIR": str(pki.directory)}
    result = CliRunner(env=env).invoke(
        main, ["traders", "register", str(pki.cert_path("trader-revoked"))]
    )
    assert result.exit_code != 0 and "revoked" in result.output
