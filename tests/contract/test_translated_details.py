"""Problem details that were English for every reader now follow Accept-Language (issue 21):
the audit and operations APIs' refusals, the store's answer to a retry of an unknown case, and
the callbacks' unknown agency, with the same
stable `type` in every language."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask


@pytest.fixture
def client(app_factory: Callable[..., Flask]):  # type: ignore[no-untyped-def]
    return app_factory(audit_tokens=("audit-token",), operator_tokens=("ops-token",)).test_client()


def test_the_audit_apis_refusal_is_said_in_russian(client) -> None:  # type: ignore[no-untyped-def]
    english = client.get("/api/v1/audit/tree-head")
    russian = client.get("/api/v1/audit/tree-head", headers={"Accept-Language": "ru"})
    assert russian.status_code == english.status_code == 401
    assert russian.json["type"] == english.json["type"]
    assert english.json["detail"].startswith("The audit API is for auditors")
    assert russian.json["detail"].startswith("API аудита — для аудиторов")
    assert russian.headers["Content-Language"] == "ru"


def test_the_operations_apis_refusal_is_said_in_kazakh(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/operations/agencies", headers={"Accept-Language": "kk"})
    assert response.status_code == 401
    assert response.json["detail"].startswith("Операциялар API")  # Kazakh: "operations API ..."


def test_an_unknown_agencys_callback_is_refused_in_kazakh(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/callbacks/nobody", data=b"{}",
                           headers={"Accept-Language": "kk", "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 404
    assert response.json["detail"] == "'nobody' органы жоқ."


def test_retrying_an_unknown_case_is_refused_in_russian(client) -> None:  # type: ignore[no-untyped-def]
    headers = {"Authorization": "Bearer ops-token", "Accept-Language": "ru"}
    response = client.post("/api/v1/operations/cases/C-404/retry", headers=headers)
    assert response.status_code == 404
    assert response.json["detail"] == "Дела C-404 нет."
