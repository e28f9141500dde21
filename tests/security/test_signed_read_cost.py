"""What one signed trader read asks of the database (issue 17): the nonce in one statement, the
registered key from the process's memory once read, and the application with its cases in one
statement that reads only the columns shown — no stored body, no history of an application never
amended or withdrawn, no notifications where none were made. Counted in statements, never
timed."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from gateway.pki.dev import DevPki
from tests.responses import json_of
from tests.security.conftest import XML
from tests.sql_statements import raw_recorded, statements
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
    services = client.application.extensions["nsw"]
    with (
        statements(services.store.engine) as seen,
        raw_recorded(services.trader_reads) as reads,  # PostgreSQL: on DB-API cursors
        raw_recorded(services.nonces) as nonces,
    ):
        answer = client.get(path, headers=signature_headers(steppe, path))
    assert answer.status_code == 200, answer.data[:300]
    seen += [" ".join(sql.split()) for sql, _ in reads + nonces]
    control = ("SELECT 1", "BEGIN IMMEDIATE", "COMMIT")  # pre-ping; SQLite's write transaction
    return [s for s in seen if s not in control]


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
    assert len(again) == 2  # the nonce and that read: cases joined, no notifications made
    assert not [s for s in again if BODY.search(s)]  # neither the stored body nor a re-parse
    assert not [s for s in again if "application_versions" in s or "case_permits" in s]
