"""Integers in the audit API's query: only ASCII digits are numbers there."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.responses import json_of

TOKEN = {"Authorization": "Bearer audit-token"}


@pytest.fixture
def client(app_factory: Callable[..., Flask]) -> FlaskClient:
    return app_factory(audit_tokens=("audit-token",)).test_client()


# str.isdigit() says yes to superscripts, which int() refuses (a 500 until this was fixed).
@pytest.mark.parametrize("value", ["\u00b2", "1\u00b9", "\u2460"])
def test_a_digit_that_is_not_a_number_is_refused(client: FlaskClient, value: str) -> None:
    for query in (f"seq={value}&size=1", f"seq=0&size={value}"):
        response = client.get(f"/api/v1/audit/proofs/inclusion?{query}", headers=TOKEN)
        assert response.status_code == 400, response.json
        assert json_of(response)["type"] == "urn:kz:nsw:problem:invalid-parameter"
    response = client.get(f"/api/v1/audit/proofs/consistency?first={value}&second=1", headers=TOKEN)
    assert response.status_code == 400


def test_a_tree_head_size_that_is_not_a_number_is_refused(client: FlaskClient) -> None:
    odd = client.get("/api/v1/audit/tree-head?size=\u00b2", headers=TOKEN)
    assert odd.status_code == 400
    assert json_of(odd)["type"] == "urn:kz:nsw:problem:invalid-parameter"
