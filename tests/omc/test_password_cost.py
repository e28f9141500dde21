"""The OMC's password hashes cost what RFC 9106 §4 asks for in production. The other tests hash at
the lowest cost (`cheap_password_hashes_for_tests`, set by tests.gateway_fixtures.gateway_config);
this one builds the gateway as a deployment does and reads the parameters out of the stored hash."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from gateway.config import load_config
from gateway.omc.accounts import password_hasher
from gateway.storage.models import OmcAccountRow
from tests.omc.conftest import OMC, PASSWORD, sign_in

# argon2-cffi's RFC 9106 low-memory profile: 64 MiB, three passes, four lanes.
PRODUCTION = "$argon2id$v=19$m=65536,t=3,p=4$"


def stored_hash(app: Flask, username: str) -> str:
    with app.extensions["nsw"].store.transaction() as s:
        stored: str = s.scalars(
            select(OmcAccountRow.password_hash).where(OmcAccountRow.username == username)
        ).one()
        return stored


def test_the_production_cost_is_the_default() -> None:
    # Whatever the environment says: the opt-in is not read from it.
    env = {"NSW_CHEAP_PASSWORD_HASHES_FOR_TESTS": "1"}
    assert load_config(env).cheap_password_hashes_for_tests is False
    assert password_hasher().hash(PASSWORD).startswith(PRODUCTION)


def test_a_deployed_gateway_hashes_passwords_at_the_rfc_9106_cost(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(cheap_password_hashes_for_tests=False, **OMC)
    app.extensions["nsw-omc-accounts"].add("op", "operator", PASSWORD, by="test")
    assert stored_hash(app, "op").startswith(PRODUCTION)


def test_a_cheaper_hash_is_replaced_at_the_production_cost_on_sign_in(
    app_factory: Callable[..., Flask],
) -> None:
    cheap = app_factory(**OMC)  # the tests' default: the lowest cost
    cheap.extensions["nsw-omc-accounts"].add("op", "operator", PASSWORD, by="test")
    assert not stored_hash(cheap, "op").startswith(PRODUCTION)

    deployed = app_factory(cheap_password_hashes_for_tests=False, **OMC)  # same database
    assert sign_in(deployed.test_client(), "op").status_code == 302
    assert stored_hash(deployed, "op").startswith(PRODUCTION)
