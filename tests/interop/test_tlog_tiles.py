"""The trail read as a C2SP tiled log by an independent client (`tests/interop/tlog_client.py`):
over HTTP from a served gateway, and from the files `nsw audit export-tiles` writes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask import Flask

from gateway.bootstrap import Services
from gateway.cli.main import main
from gateway.pki.dev import LOG_VKEY_FILE, DevPki
from gateway.storage.repository import Message
from tests.interop import tlog_client
from tests.log_state import log_state_for
from tests.serving import serving

TOKEN = "trail-audit-token"
ENTRIES = 300  # one full level-0 tile, one partial of 44, a level-1 tile of width 1


def _append(services: Services, count: int) -> None:
    with services.store.transaction() as s:
        for n in range(count):
            services.store._add_message(
                s, "APP", Message("note", "in", "test", "text/plain", b"message %d" % n)
            )


@pytest.fixture
def served(app_factory: Callable[..., Flask]) -> Iterator[tuple[str, Services]]:
    app = app_factory(audit_tokens=(TOKEN,))
    services: Services = app.extensions["nsw"]
    _append(services, ENTRIES)
    services.auditor.issue_tree_head()
    with serving(app) as url:
        yield f"{url}/api/v1/trail", services


def _check_log(fetch: tlog_client.Fetch, vkey: str) -> None:
    # Step 1: the checkpoint carries a valid Ed25519 signature by the log's key.
    origin, size, root = tlog_client.open_checkpoint(fetch("checkpoint").decode(), vkey)
    assert (origin, size) == ("kz.nsw.gateway/trail", ENTRIES)
    # Step 2: the tiles rebuild the root the checkpoint signs.
    leaves = tlog_client.leaf_hashes(fetch, size)
    assert tlog_client.mth(leaves) == root
    # Step 3: an inclusion proof made from the tiles proves an entry of the bundles.
    index = 271
    bundle = fetch(tlog_client.tile_path("entries", 1, 44))
    entry = bundle[2 : 2 + int.from_bytes(bundle[:2], "big")]  # entry 256
    assert b'"seq":256' in entry
    path = tlog_client.inclusion_path(index, leaves)
    assert tlog_client.root_from_inclusion(leaves[index], index, size, path) == root
    leaf = hashlib.sha256(b"\x00" + entry).digest()
    assert (
        tlog_client.root_from_inclusion(leaf, 256, size, tlog_client.inclusion_path(256, leaves))
        == root
    )


def test_an_independent_client_verifies_the_served_log(
    served: tuple[str, Services], pki: DevPki
) -> None:
    base, _services = served
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    seen: dict[str, requests.Response] = {}

    def fetch(path: str) -> bytes:
        answer = session.get(f"{base}/{path}", timeout=10)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
        seen[path] = answer
        return answer.content

    _check_log(fetch, (pki.directory / LOG_VKEY_FILE).read_text())
    assert seen["checkpoint"].headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "immutable" in seen["tile/0/000"].headers["Cache-Control"]
    assert "immutable" not in seen["tile/0/001.p/44"].headers["Cache-Control"]


def test_tiles_need_the_audit_token_and_exist_only_inside_the_checkpoint(
    served: tuple[str, Services],
) -> None:
    base, _services = served
    assert requests.get(f"{base}/checkpoint", timeout=10).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("tile/0/001", "tile/0/001.p/45", "tile/2/000.p/1", "tile/0/1", "tile/entries/002"):
        assert requests.get(f"{base}/{path}", headers=auth, timeout=10).status_code == 404, path


def test_export_tiles_writes_a_log_the_independent_client_verifies(
    pki: DevPki, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NSW_PKI_DIR", str(pki.directory))
    monkeypatch.setenv("NSW_DATABASE_URL", database_url)
    monkeypatch.setenv("NSW_LOG_STATE", str(log_state_for(database_url)))
    from gateway.bootstrap import build_services
    from gateway.config import load_config

    services = build_services(load_config())
    try:
        _append(services, ENTRIES)
    finally:
        services.close()
    out = tmp_path / "log"
    result = CliRunner().invoke(main, ["audit", "export-tiles", str(out)])
    assert result.exit_code == 0, result.output
    assert f"tree size {ENTRIES}" in result.output
    _check_log(lambda path: (out / path).read_bytes(), (pki.directory / LOG_VKEY_FILE).read_text())
