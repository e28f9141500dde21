"""Property-based tests of the gateway from its own OpenAPI document (schemathesis, in-process
WSGI): generated requests, valid and not, to every operation; none may end in a server error,
and every answer must be one the document describes (status, media type, schema).

One app serves every operation (building one costs a migration): the operations are walked in
one test rather than parametrized, as schemathesis's lazy fixture loader (`from_fixture`) does
not work with the pytest we lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from requests.structures import CaseInsensitiveDict
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.config import load_config
from gateway.pki.dev import DevPki
from gateway.trust.xmlsig import SigningIdentity
from gateway.web.openapi import document_path
from tests.contract.openapi_doc import document
from tests.responses import json_of
from tests.trader_requests import identity, signature_headers

TOKEN = "fuzz-token"
CONFORMS = [status_code_conformance, content_type_conformance, response_schema_conformance]
SOAP_POST = ("POST", "/soap/callbacks")
# Readiness answers 503 by design while an agency has no endpoint (as in this app): a documented
# report for load balancers, not a server error.
READINESS = ("GET", "/readyz")


def _sign_as_trader(case: schemathesis.Case[Any], trader: SigningIdentity) -> None:
    """Sign a bodiless trader request as that trader's software would (RFC 9421), so generated
    requests get past the signature to what the operation does with its inputs."""
    op = document()["paths"][case.path][case.method.lower()]
    if op.get("security") == [{"traderSignature": []}] and "requestBody" not in op:
        headers = CaseInsensitiveDict(case.headers or {})
        headers.update(signature_headers(trader, case.formatted_path, method=case.method))
        case.headers = headers


def _check(app: Flask, case: schemathesis.Case[Any], trader: SigningIdentity | None) -> None:
    if trader is not None:
        _sign_as_trader(case, trader)
    if (case.method, case.path) == SOAP_POST:
        # SOAP 1.1 §6.2: a refusal is a Fault with HTTP 500, so a 500 is expected here; the
        # media-type check still catches a crash (a problem document, not a text/xml Fault).
        response = case.call_and_validate(app=app, checks=CONFORMS)
        if response.status_code == 500:
            assert b"Fault>" in response.content
        return
    server_error = [] if (case.method, case.path) == READINESS else [not_a_server_error]
    # With the bearer token, so operations, audit and metrics are reached beyond their 401.
    case.call_and_validate(
        app=app,
        headers={"Authorization": f"Bearer {TOKEN}"},
        checks=[*server_error, *CONFORMS],
    )


def _nothing_to_negate(method: str, path: str) -> bool:
    """True for an operation whose only input is a free-form string body (the XML ones): no
    request breaks its schema, so the negative mode has nothing to send (the positive one
    sends it arbitrary text)."""
    op = document()["paths"][path][method.lower()]
    bodies = op.get("requestBody", {}).get("content", {}).values()
    return not op.get("parameters") and all(b["schema"] == {"type": "string"} for b in bodies)


def fuzz(
    app: Flask, mode: GenerationMode, examples: int, trader: SigningIdentity | None = None
) -> None:
    """Every operation, `examples` generated requests each; trader reads signed by `trader`
    when given (valid requests only: an invalid one is meant to be refused at the door)."""
    if mode is GenerationMode.NEGATIVE:
        trader = None
    schema = schemathesis.openapi.from_path(document_path(load_config({}).wsdl_dir))
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the document itself is broken
        operation = result.ok()
        if mode is GenerationMode.NEGATIVE and _nothing_to_negate(operation.method, operation.path):
            continue

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,  # the same requests on every run: a failure is reproducible
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case[Any]) -> None:
            _check(app, case, trader)

        run()


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory(operator_tokens=(TOKEN,), audit_tokens=(TOKEN,), metrics_tokens=(TOKEN,))


@pytest.fixture
def trader(app: Flask, signed_sample: Callable[..., bytes], pki: DevPki) -> SigningIdentity:
    """A trader whose key the gateway knows (its first accepted application registers it)."""
    accepted = app.test_client().post(
        "/api/v1/applications",
        data=signed_sample("fresh-apples-import"),
        headers={"Content-Type": "application/xml"},
    )
    assert accepted.status_code == 202
    return identity(pki, "trader-steppe")


# A few examples per operation: this runs with the suite, many times a day.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_answers_a_server_error_or_undocumented(
    app: Flask, trader: SigningIdentity, mode: GenerationMode
) -> None:
    fuzz(app, mode, examples=5, trader=trader)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_longer_run_of_generated_requests(
    app: Flask, trader: SigningIdentity, mode: GenerationMode
) -> None:
    # 60 per operation, on both databases, found nothing beyond the xfails below (2026-12-07);
    # 25 keeps the suite bearable.
    fuzz(app, mode, examples=25, trader=trader)


# --- the 500s the fuzz found before every value was checked at the edge ---------------------
# Each was a 500 once: an integer beyond 64 bits or a NUL character reaching a query unchecked.


def test_a_notification_id_beyond_64_bits_is_not_found(app: Flask) -> None:
    response = app.test_client().post(
        f"/api/v1/operations/notifications/{2**80}/retry",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 404


def test_a_tree_head_size_beyond_64_bits_is_refused(app: Flask) -> None:
    response = app.test_client().get(
        f"/api/v1/audit/tree-head?size={2**80}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 400
    assert json_of(response)["type"].endswith(":invalid-parameter")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/operations/cases?state=a%00b",
        "/api/v1/operations/notifications?state=a%00b",
    ],
)
def test_a_nul_in_a_query_value_is_refused(app: Flask, path: str) -> None:
    response = app.test_client().get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400
    assert json_of(response)["type"].endswith(":invalid-parameter")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/audit/applications/a%00b/entries",
        "/api/v1/checkpoint/visits/a%00b",
    ],
)
def test_a_nul_in_a_path_id_is_not_found(app: Flask, path: str) -> None:
    response = app.test_client().get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
