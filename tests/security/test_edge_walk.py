"""The generic edge test (issue 15, item 2): every GET route of the app, found by walking
`app.url_map`, is called with a huge integer, a 10,000-character string and an encoded line break
in each path parameter, and with hostile values in every query parameter any route reads, signed
in to the OMC, with the audit/operations bearer token and a valid trader signature, so each
request gets as deep as a caller can take it. None may answer 5xx."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask.testing import FlaskClient

from gateway.clock import system_clock
from gateway.pki.dev import DevPki
from gateway.trust.http_signatures import TRADER_TAG, PrivateKey, RequestView, sign_request
from tests.omc.conftest import OMC, OPERATOR_TOKEN, add_accounts, sign_in
from tests.trader_requests import identity, keyid_of

HOSTILE = [str(2**64), "9" * 10_000, "x" * 10_000, "NSW%0A1", "%C2%B2"]
QUERY_NAMES: tuple[str, ...] = (
    "seq",
    "size",
    "first",
    "second",
    "state",
    "checkpoint",
    "since",
    "agency",
)
QUERY_NAMES += ("status", "trader", "next", "limit", "wsdl")
TRADER_ROUTES = ("/api/v1/applications", "/api/v1/traders")
STREAMING = {"omc.events"}  # answers with an endless event stream, by design
ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    made = app_factory(**OMC, audit_tokens=(OPERATOR_TOKEN,))
    add_accounts(made)
    return made


def _paths(rule: str, arguments: list[str]) -> Iterator[str]:
    """The rule with one argument at a time set to each hostile value, the others to "1"."""
    for target in arguments:
        for value in HOSTILE:

            def hostile(m: re.Match[str], t: str = target, v: str = value) -> str:
                return v if m.group(1) == t else "1"

            yield ARGUMENT.sub(hostile, rule)


def _get_routes(app: Flask) -> list[tuple[str, list[str]]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.endpoint not in STREAMING | {"static"}:
            routes.append((rule.rule, sorted(rule.arguments)))
    assert len(routes) > 20, "the walk found too few routes to mean anything"
    return routes


def test_no_get_route_answers_5xx_to_hostile_values(app: Flask, pki: DevPki) -> None:
    steppe = identity(pki, "trader-steppe")
    key = serialization.load_pem_private_key(steppe.key_pem, password=None)  # once: it is slow
    assert isinstance(key, PrivateKey)
    clients: list[FlaskClient] = []
    for username in ("op", "aud", "adm"):  # between them, every OMC permission
        client = app.test_client()
        assert sign_in(client, username).status_code == 302
        clients.append(client)
    queries = ["&".join(f"{name}={value}" for name in QUERY_NAMES) for value in HOSTILE]
    failures = []
    for rule, arguments in _get_routes(app):
        if rule.startswith("/static"):
            continue
        paths = list(_paths(rule, arguments)) if arguments else []
        paths += [ARGUMENT.sub("1", rule) + "?" + query for query in queries]
        for path in paths:
            headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
            if path.startswith(TRADER_ROUTES):  # only these read the (costly) signature
                view = RequestView("GET", f"http://localhost{path}", headers)
                sign_request(view, key, keyid_of(steppe), tag=TRADER_TAG, now=system_clock())
            for client in clients if path.startswith("/omc") else clients[:1]:
                status = client.get(path, headers=headers).status_code
                # /readyz answers its documented 503 while an agency has no endpoint (as here).
                if status >= 500 and not (status == 503 and path.startswith("/readyz")):
                    failures.append(f"{status} GET {path[:120]}")
    assert not failures, "\n".join(failures)
