"""Shared fixtures: no network beyond 127.0.0.1, a dev PKI, databases, and signed samples."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gateway.pki import DevPki, init_dev_pki
from gateway.resources import shipped
from gateway.xmlparse import parse_xml
from gateway.xmlsig import SigningIdentity, sign_enveloped
from tests.log_state import forget_log_state

pytest_plugins = ["tests.gateway_fixtures"]

SAMPLES = shipped("samples")
_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            allowed = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = False
        if not allowed:
            raise ConnectionRefusedError(f"tests may not connect to {host}: loopback only")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _no_network_beyond_loopback() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("pki"))


def trader_identity(pki: DevPki, slug: str) -> SigningIdentity:
    return SigningIdentity.from_files(
        pki.key_path(slug), pki.cert_path(slug), pki.directory / "issuing-ca.pem"
    )


SAMPLE_SIGNER = {
    "fresh-apples-import": "trader-steppe",
    "live-cattle-import": "trader-altyn",
    "overweight-machinery-transit": "trader-kaztrans",
}


@pytest.fixture
def signed_sample(pki: DevPki) -> Callable[..., bytes]:
    """signed_sample(name, signer=None, edit=None): the sample signed by its declarant (or by
    `signer`), after `edit(bytes) -> bytes` is applied to the unsigned text."""

    def make(
        name: str, signer: str | None = None, edit: Callable[[bytes], bytes] | None = None
    ) -> bytes:
        raw = (SAMPLES / f"{name}.xml").read_bytes()
        if edit:
            raw = edit(raw)
        identity = trader_identity(pki, signer or SAMPLE_SIGNER[name])
        return sign_enveloped(parse_xml(raw), identity)

    return make


def _database_urls() -> list[str]:
    urls = ["sqlite"]
    if os.environ.get("NSW_TEST_DATABASE_URL"):
        urls.append("postgresql")
    return urls


@pytest.fixture(params=_database_urls())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs on SQLite and, when NSW_TEST_DATABASE_URL is set, on PostgreSQL
    (emptied first, so every test starts from the migrations)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nsw.db'}"
    url = os.environ["NSW_TEST_DATABASE_URL"]
    forget_log_state(url)  # the emptied database starts a new log: the signer starts afresh too
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url
