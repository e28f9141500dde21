"""What one signed trader read asks of the database (issue 17): the nonce in one statement, the
registered key from the process's memory once read, and the application with what its status
lists in one transaction that reads only the columns shown — no stored body, no history of an
application never amended or withdrawn. Counted in statements, never timed."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from gateway.pki.dev import DevPki
from tests.responses import json_of
from tests.security.conftest import XML
from tests.sql_statements import statements
from tests.trader_requests import identity, signature_headers

BODY = re.compile(r"applications\.body\b(?!_)")  # the stored bytes, not body_sha256


@pytest.fixture
def lodged(client: FlaskClient, signed_sample: Callable[..., bytes]) -> str:
    answer = client.post(
        "/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=XML
    )
    assert answer.status_code == 202
    return str(json_of(answer)["id"])


def _read(client: FlaskClient, pki: DevPki, path: str) -> list[str]:
    steppe = identity(pki, "trader-steppe")
    with statements(client.application.extensions["nsw"].store.engine) as seen:
        answer = client.get(path, headers=signature_headers(steppe, path))
    assert answer.status_code == 200, answer.data[:300]
    return [s for s in seen if s != "SELECT 1"]  # PostgreSQL's pool pre-ping


@pytest.mark.parametrize("suffix", ["", "/receipt"])
def test_a_second_signed_read_costs_one_nonce_statement_and_one_gated_read(
    client: FlaskClient, lodged: str, pki: DevPki, suffix: str
) -> None:
    path = f"/api/v1/applications/{lodged}{suffix}"
    first = _read(client, pki, path)
    again = _read(client, pki, path)
    assert any("trader_certificates" in s for s in first)
    assert not any("trader_certificates" in s for s in again)  # the key is remembered
    nonces = [s for s in again if "request_nonces" in s]
    assert len(nonces) == 1 and nonces[0].startswith("INSERT INTO request_nonces")  # no purge
    assert len([s for s in again if "FROM applications" in s]) == 1  # declarant and row at once
    assert not [s for s in again if BODY.search(s)]  # neither the stored body nor a re-parse
    assert not [s for s in again if "application_versions" in s or "case_permits" in s]
