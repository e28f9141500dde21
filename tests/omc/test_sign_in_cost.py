"""A refused sign-in costs the same database work whether or not the name is an account (issue 15,
item 10): the statements are counted, not timed, since a wall clock proves nothing in a test."""

from __future__ import annotations

import re

from flask import Flask

from tests.omc.conftest import sign_in
from tests.sql_statements import statements

# Appending to the Merkle log writes as many subtree nodes as the new leaf completes (RFC 9162
# §2.1.1): that depends on the log's size, not on the name, so those statements are left out.
SIZE_DEPENDENT = re.compile(r"trail_nodes", re.IGNORECASE)


def refused(app: Flask, username: str) -> list[str]:
    client = app.test_client()
    client.get("/omc/login")  # the CSRF token is made outside the counted work
    engine = app.extensions["nsw"].store.engine
    with statements(engine, keep=lambda sql: not SIZE_DEPENDENT.search(sql)) as seen:
        assert sign_in(client, username, "not the password").status_code == 401
    return seen


def test_a_wrong_password_costs_what_an_unknown_name_costs(omc_app: Flask) -> None:
    unknown = refused(omc_app, "nobody-of-that-name")
    existing = refused(omc_app, "op")
    assert any(s.startswith("UPDATE omc_accounts") for s in existing)
    # The trail's append (on PostgreSQL inside a WITH that also sends its NOTIFY).
    assert any("INSERT INTO messages" in s for s in existing)
    assert existing == unknown


def test_a_disabled_account_costs_what_an_unknown_name_costs(omc_app: Flask) -> None:
    omc_app.extensions["nsw-omc-accounts"].change("op", by="test", disabled=True)
    assert refused(omc_app, "op") == refused(omc_app, "nobody-of-that-name")
