"""Witnesses (c2sp.org/tlog-witness): stand-in witnesses on 127.0.0.1 cosign the trail's
checkpoints; a stopped one does not stop publication while the quorum holds; a forked log is
refused by the witness and the gateway raises the alarm."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from gateway.bootstrap import Services, build_services
from gateway.pki.dev import LOG_VKEY_FILE, DevPki
from gateway.storage.models import CheckpointRow
from gateway.storage.repository import Message
from gateway.trail.checkpoint import Checkpoint, CosignatureVerifier, verifier_from_vkey
from gateway.trail.keys import load_log_signer
from gateway.trail.note import Ed25519Signer, format_note, parse_note, verify_note
from simulators.witness import RunningWitness, start_witness
from tests.gateway_fixtures import endpoints_never_called, gateway_config

StartWitness = Callable[[str], RunningWitness]


@pytest.fixture
def witness(pki: DevPki, tmp_path: Path) -> Iterator[StartWitness]:
    started: list[RunningWitness] = []
    log_vkey = (pki.directory / LOG_VKEY_FILE).read_text()

    def start(name: str) -> RunningWitness:
        running = start_witness(name, [log_vkey], tmp_path / f"{name.replace('/', '_')}.json")
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def _entry(w: RunningWitness) -> str:
    return f"{w.witness.name} {w.url} {w.witness.vkey}"


def _services(pki: DevPki, database_url: str, **overrides: Any) -> Services:
    return build_services(
        gateway_config(
            pki, database_url, endpoints_never_called(), dispatcher_threads=0, **overrides
        )
    )


def _append(services: Services, count: int) -> None:
    with services.store.transaction() as s:
        for n in range(count):
            services.store._add_message(
                s, "APP", Message("note", "in", "test", "text/plain", b"w%d" % n)
            )


def _published(services: Services) -> dict[int, str]:
    with services.store.transaction() as s:
        return {row.size: row.note for row in s.scalars(select(CheckpointRow))}


def _cosigners(note: str, *witnesses: RunningWitness) -> list[str]:
    verifiers = [verifier_from_vkey(w.witness.vkey) for w in witnesses]
    assert all(isinstance(v, CosignatureVerifier) for v in verifiers)
    _note, verified = verify_note(note, verifiers)
    return sorted(s.name for s in verified.signatures)


def test_checkpoints_are_cosigned_and_published_while_the_quorum_holds(
    pki: DevPki, database_url: str, witness: StartWitness
) -> None:
    a, b = witness("witness.test/a"), witness("witness.test/b")
    services = _services(pki, database_url, witnesses=(_entry(a), _entry(b)), witness_quorum=1)
    try:
        _append(services, 3)
        services.auditor.issue_tree_head()
        assert _cosigners(_published(services)[3], a, b) == ["witness.test/a", "witness.test/b"]
        b.stop()
        _append(services, 4)
        services.auditor.issue_tree_head()  # a proves 3 -> 7 to witness a
        assert _cosigners(_published(services)[7], a, b) == ["witness.test/a"]
        assert services.auditor.witness_alarms() == {"witness.test/a": "", "witness.test/b": ""}
    finally:
        services.close()


def test_without_the_quorum_the_checkpoint_is_not_published(
    pki: DevPki, database_url: str, witness: StartWitness
) -> None:
    a, b = witness("witness.test/a"), witness("witness.test/b")
    services = _services(pki, database_url, witnesses=(_entry(a), _entry(b)), witness_quorum=2)
    try:
        _append(services, 2)
        services.auditor.issue_tree_head()
        assert list(_published(services)) == [2]
        b.stop()
        _append(services, 1)
        services.auditor.issue_tree_head()
        assert list(_published(services)) == [2]
    finally:
        services.close()


def test_a_witness_fed_a_forked_log_refuses_and_the_gateway_alarms(
    pki: DevPki,
    database_url: str,
    witness: StartWitness,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a = witness("witness.test/a")
    honest = _services(pki, database_url, witnesses=(_entry(a),), witness_quorum=1)
    try:
        _append(honest, 5)
        honest.auditor.issue_tree_head()
    finally:
        honest.close()
    # A second history of the same log (same key and origin), e.g. a restored old backup that
    # then took other messages: its signer's memory is gone too, so only the witness can tell.
    fork_db = f"sqlite:///{tmp_path / 'fork.db'}"
    forked = _services(
        pki, fork_db, witnesses=(_entry(a),), witness_quorum=1, log_state=tmp_path / "fork-state"
    )
    try:
        _append(forked, 7)
        with caplog.at_level(logging.ERROR, logger="gateway.trail.witness"):
            forked.auditor.issue_tree_head()
        assert _published(forked) == {}
        alarm = forked.auditor.witness_alarms()["witness.test/a"]
        assert "not consistent with the cosigned size 5" in alarm
        assert any("witness witness.test/a refuses" in r.getMessage() for r in caplog.records)
        from gateway.app import create_app

        registry = create_app(forked.config, forked).extensions["nsw-metrics"]
        gauge = "nsw_trail_witness_refusing"
        assert registry.get_sample_value(gauge, {"witness": "witness.test/a"}) == 1
        ready = create_app(forked.config, forked).test_client().get("/readyz").get_json()
        assert ready["status"] == "degraded"
        assert "witness.test/a refuses" in ready["checks"]["trail_witnesses"]
    finally:
        forked.close()


def test_a_rolled_back_log_alarms_but_an_older_checkpoint_of_another_node_does_not(
    pki: DevPki, database_url: str, witness: StartWitness, tmp_path: Path
) -> None:
    a = witness("witness.test/a")
    services = _services(pki, database_url, witnesses=(_entry(a),), witness_quorum=1)
    try:
        _append(services, 5)
        services.auditor.issue_tree_head()
        older = _published(services)[5]
        _append(services, 2)
        services.auditor.issue_tree_head()
        # Another web node's checkpoint of size 5 arrives after ours of 7: stale, not a fork.
        assert services.auditor.witnesses is not None
        _note, enough = services.auditor.witnesses.cosign(
            older, 5, services.auditor.consistency, lambda: 7
        )
        assert not enough and services.auditor.witness_alarms()["witness.test/a"] == ""
    finally:
        services.close()
    # The log restored from a backup of 3 entries: the witness holds 7, more than there is.
    restored = _services(
        pki,
        f"sqlite:///{tmp_path / 'restored.db'}",
        witnesses=(_entry(a),),
        witness_quorum=1,
        log_state=tmp_path / "restored-state",
    )
    try:
        _append(restored, 3)
        restored.auditor.issue_tree_head()
        assert (
            "larger than the log (3): the log was rolled back"
            in (restored.auditor.witness_alarms()["witness.test/a"])
        )
        assert _published(restored) == {}
    finally:
        restored.close()


def test_the_witness_answers_as_the_spec_says(
    pki: DevPki, database_url: str, witness: StartWitness
) -> None:
    a = witness("witness.test/a")
    services = _services(pki, database_url, witnesses=(_entry(a),), witness_quorum=1)
    try:
        _append(services, 4)
        services.auditor.issue_tree_head()
        note = _published(services)[4]
    finally:
        services.close()
    parsed = parse_note(note)
    origin = parsed.text.split("\n")[0]
    log_note = format_note(parsed.text, [x for x in parsed.signatures if x.name == origin])
    log_key = load_log_signer(pki.directory / "log-ed25519.key", origin)

    def signed(size: int, root: bytes, origin: str = origin) -> str:
        body = Checkpoint(origin, size, root).body()
        return format_note(body, [log_key.sign(body)])

    def post(body: str) -> requests.Response:
        return requests.post(f"{a.url}/add-checkpoint", data=body.encode(), timeout=10)

    # A stale old size: 409 with the size the witness holds.
    stale = post(f"old 0\n\n{log_note}")
    assert (stale.status_code, stale.text) == (409, "4\n")
    assert stale.headers["Content-Type"] == "text/x.tlog.size"
    # The same size with another root (a fork), or a proof that does not verify: 422.
    assert post(f"old 4\n\n{signed(4, bytes(32))}").status_code == 422
    junk = base64.b64encode(bytes(32)).decode()
    assert post(f"old 4\n{junk}\n\n{signed(6, bytes(32))}").status_code == 422
    # Not signed by the log's key: 403; an unknown origin: 404; old above the size: 400.
    stranger = Ed25519Signer(origin, Ed25519PrivateKey.generate())
    body = Checkpoint(origin, 5, bytes(32)).body()
    assert post(f"old 4\n\n{format_note(body, [stranger.sign(body)])}").status_code == 403
    assert post(f"old 4\n\n{signed(5, bytes(32), 'other.example/log')}").status_code == 404
    assert post(f"old 9\n\n{signed(5, bytes(32))}").status_code == 400
    # After all that, the witness still holds size 4 and cosigns the honest checkpoint again.
    again = post(f"old 4\n\n{log_note}")
    assert again.status_code == 200 and again.text.startswith("\u2014 witness.test/a ")
