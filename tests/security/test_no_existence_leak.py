"""Whether an application id exists does not leak (issue 15, item 9): another company's application
answers every trader read exactly as an id that does not exist — same status, problem type and
sentence — after the same database statements, so neither the answer nor the work tells them apart."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway.pki.dev import DevPki
from tests.responses import json_of
from tests.security.conftest import XML
from tests.sql_statements import raw_recorded, statements
from tests.trader_requests import identity, signature_headers

READS = ["", "/decision", "/receipt", "/evidence"]


@pytest.fixture
def ids(client: FlaskClient, signed_sample: Any) -> tuple[str, str]:
    """(steppe's application id, an id of the same form that no application has)."""
    for sample in ("fresh-apples-import", "live-cattle-import"):  # altyn's key is registered too
        answer = client.post("/api/v1/applications", data=signed_sample(sample), headers=XML)
        assert answer.status_code == 202
        if sample == "fresh-apples-import":
            lodged = json_of(answer)["id"]
    unknown = lodged[:-1] + ("A" if lodged[-1] != "A" else "B")
    return lodged, unknown


def read(client: FlaskClient, pki: DevPki, path: str) -> tuple[int, dict[str, Any], list[str]]:
    altyn = identity(pki, "trader-altyn")
    headers = signature_headers(altyn, path)
    services = client.application.extensions["nsw"]
    # On PostgreSQL the read's statement goes on a DB-API cursor (`Store.autocommit`), past
    # SQLAlchemy's events: recorded there too.
    with statements(services.store.engine) as seen, raw_recorded(services.trader_reads) as raw:
        answer = client.get(path, headers=headers)
    return answer.status_code, json_of(answer), seen + [" ".join(sql.split()) for sql, _ in raw]


@pytest.mark.parametrize("suffix", READS)
def test_another_company_s_application_answers_as_an_unknown_id(
    client: FlaskClient, ids: tuple[str, str], pki: DevPki, suffix: str
) -> None:
    lodged, unknown = ids
    # The signer's first signed request reads its registered certificate, later ones find it in
    # the process's cache (issue 17): look it up once before the two reads compared.
    read(client, pki, f"/api/v1/applications/{unknown}{suffix}")
    theirs = read(client, pki, f"/api/v1/applications/{lodged}{suffix}")
    missing = read(client, pki, f"/api/v1/applications/{unknown}{suffix}")
    assert theirs[0] == missing[0] == 404
    assert theirs[1]["type"] == missing[1]["type"] == "urn:kz:nsw:problem:not-found"
    assert theirs[1]["detail"].replace(lodged, "ID") == missing[1]["detail"].replace(unknown, "ID")
    assert theirs[2] == missing[2]  # the same statements, in the same order
