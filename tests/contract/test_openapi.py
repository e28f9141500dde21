"""The gateway's OpenAPI document (wsdl/gateway/openapi.json): valid OpenAPI 3.1, describes every
route the app serves and nothing it does not, lists every problem type, and real answers match it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from openapi_spec_validator import validate as validate_spec
from werkzeug.test import TestResponse

from gateway.errors import PROBLEM_BASE, GatewayError
from gateway.pki.dev import DevPki
from gateway.web.api_docs import prose, schema_label
from tests.contract.openapi_doc import (
    document,
    documented_operations,
    response_schema,
    served_operations,
    validate,
)
from tests.responses import json_of
from tests.trader_requests import identity, signature_headers

XML = {"Content-Type": "application/xml"}


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    # With the OMC mounted, so that leaving out its pages is a decision the test makes.
    return app_factory(omc_insecure_dev_key=True)


def test_the_document_is_valid_openapi_3_1() -> None:
    assert document()["openapi"].startswith("3.1.")
    validate_spec(document())


def test_every_route_is_documented_and_every_documented_route_exists(app: Flask) -> None:
    served, documented = served_operations(app), documented_operations(document())
    assert served - documented == set(), "routes the document does not describe"
    assert documented - served == set(), "documented operations the gateway does not serve"


def test_a_route_added_without_its_description_is_caught(app: Flask) -> None:
    @app.post("/api/v1/operations/things/<int:thing_id>")
    def thing(thing_id: int) -> str:
        return ""

    missing = served_operations(app) - documented_operations(document())
    assert missing == {("/api/v1/operations/things/{thing_id}", "post")}


def _error_classes() -> set[type[GatewayError]]:
    found: set[type[GatewayError]] = set()
    todo: list[type[GatewayError]] = [GatewayError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return found


def test_every_problem_type_is_listed_with_its_status(app: Flask) -> None:
    # The app is built, so every module defining an error is imported.
    listed = {
        p["type"]: p["status"]
        for p in document()["components"]["schemas"]["Problem"]["x-problem-types"]
    }
    for error in _error_classes():
        if error.code != GatewayError.code:  # abstract parents (CallbackRefused) keep the base's
            assert listed.get(PROBLEM_BASE + error.code) == error.status, error
    assert PROBLEM_BASE + "internal" in listed
    enum = document()["components"]["schemas"]["Problem"]["properties"]["type"]["anyOf"][0]
    assert set(enum["enum"]) == set(listed)


# The only error statuses that are not problem documents, and why.
NOT_PROBLEMS = {
    ("/readyz", "get", "503"),  # the readiness report itself, read by load balancers
    ("/soap/callbacks", "post", "500"),  # a SOAP 1.1 Fault (SOAP 1.1 §6.2), per the WSDL
}


def test_every_error_response_is_a_problem_document() -> None:
    for path, item in document()["paths"].items():
        for method, op in item.items():
            for status, answer in op["responses"].items():
                if int(status) < 400 or (path, method, status) in NOT_PROBLEMS:
                    continue
                content = answer.get("content", {})
                assert list(content) == ["application/problem+json"], (path, method, status)
                schema = content["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (path, method, status)


def test_the_document_and_docs_page_are_served(app: Flask) -> None:
    client = app.test_client()
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.mimetype == "application/json"
    assert served.json == document()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for item in document()["paths"].values():
        for op in item.values():
            assert f'id="op-{op["operationId"]}"' in html
    for name in document()["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    assert "urn:kz:nsw:problem:decision-not-ready" in html
    # Self-hosted: nothing is loaded from anywhere, and no script runs.
    assert "<script" not in html
    assert "http://" not in html.split("<body>", 1)[0]
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


def _matches(response: TestResponse, path: str, method: str = "get") -> None:
    schema = response_schema(path, method, response.status_code, response.mimetype)
    validate(response.json, schema)


def test_real_answers_match_their_documented_schemas(
    app: Flask, signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    client = app.test_client()
    accepted = client.post(
        "/api/v1/applications", data=signed_sample("live-cattle-import"), headers=XML
    )
    _matches(accepted, "/api/v1/applications", "post")
    altyn = identity(pki, "trader-altyn")
    status_path = json_of(accepted)["links"]["status"]
    status = client.get(status_path, headers=signature_headers(altyn, status_path))
    assert status.status_code == 200
    _matches(status, "/api/v1/applications/{application_id}")
    decision_path = json_of(accepted)["links"]["decision"]
    not_ready = client.get(decision_path, headers=signature_headers(altyn, decision_path))
    assert not_ready.status_code == 409
    _matches(not_ready, "/api/v1/applications/{application_id}/decision")
    unsigned = client.get(status_path)
    assert unsigned.status_code == 401
    _matches(unsigned, "/api/v1/applications/{application_id}")
    refused = client.post("/api/v1/applications", data=b"<a>", headers=XML)
    assert refused.status_code == 400
    _matches(refused, "/api/v1/applications", "post")
    _matches(client.get("/readyz"), "/readyz")
    _matches(client.get("/healthz"), "/healthz")
    _matches(client.get("/metrics"), "/metrics")


def test_a_problem_of_an_unknown_type_does_not_match() -> None:
    # The schema check above can fail: `type` is one of the listed values.
    schema = response_schema("/readyz", "get", 200, "application/json")
    validate({"status": "ready", "checks": {}}, schema)
    problem = response_schema("/metrics", "get", 401, "application/problem+json")
    with pytest.raises(Exception, match="urn:kz:nsw:problem:made-up"):
        validate(
            {"type": PROBLEM_BASE + "made-up", "title": "x", "status": 401, "detail": "x"},
            problem,
        )


def test_the_docs_page_escapes_what_the_document_says() -> None:
    assert str(prose("<script>`<b>` & `x`")) == (
        "&lt;script&gt;<code>&lt;b&gt;</code> &amp; <code>x</code>"
    )
    assert str(schema_label({"type": "<img>"})) == "&lt;img&gt;"
    assert str(schema_label({"$ref": "#/components/schemas/Problem"})) == (
        '<a href="#schema-Problem">Problem</a>'
    )
