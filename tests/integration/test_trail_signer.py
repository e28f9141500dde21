"""The checkpoint signer never signs a rewritten history, on SQLite and PostgreSQL.

The attacks are those of the outside review: rewrite a message, recompute every node, delete the
tree heads (and checkpoints) so nothing in the database remembers the old root; or delete the last
entry. The signer's own state file remembers, and it refuses until an operator resets it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from gateway.bootstrap import Services, build_services
from gateway.pki.dev import LOG_VKEY_FILE, DevPki
from gateway.storage.models import CheckpointRow, MessageRow, TrailNodeRow, TreeHeadRow
from gateway.storage.repository import Message
from gateway.trail.checkpoint import parse_checkpoint, verifier_from_vkey
from gateway.trail.format import entry_bytes, read_entry
from gateway.trail.merkle import InMemorySubtreeHashes, leaf_hash, perfect_subtrees_completed_by
from gateway.trail.note import verify_note
from gateway.trail.signer import SignerRefusing
from tests.gateway_fixtures import endpoints_never_called, gateway_config


@pytest.fixture
def services(pki: DevPki, database_url: str) -> Iterator[Services]:
    made = build_services(
        gateway_config(pki, database_url, endpoints_never_called(), dispatcher_threads=0)
    )
    yield made
    made.close()


def _append(services: Services, count: int) -> None:
    store = services.store
    with store.transaction() as s:
        start = s.scalar(select(func.count()).select_from(MessageRow)) or 0
        for n in range(start, start + count):
            store._add_message(s, "APP", Message("note", "in", "test", "text/plain", b"m%d" % n))
    services.auditor.integrate()  # sequenced, as the integrator loop would once they commit


def _recompute_nodes(services: Services) -> None:
    """What a careful attacker does after editing entries: rebuild every stored node."""
    with services.store.transaction() as s:
        entries = list(s.scalars(select(MessageRow.entry).order_by(MessageRow.seq)))
        s.execute(delete(TrailNodeRow))
        tree = InMemorySubtreeHashes()
        for entry in entries:
            tree.append(leaf_hash(entry))
        for level, hashes in enumerate(tree.levels):
            s.add_all(TrailNodeRow(level=level, idx=i, hash=h) for i, h in enumerate(hashes))


def _delete_last_entry(services: Services, seq: int) -> None:
    """Delete entry `seq` (the last) and the nodes it completed, leaving a well-formed log."""
    with services.store.transaction() as s:
        s.execute(delete(MessageRow).where(MessageRow.seq == seq))
        for node in perfect_subtrees_completed_by(seq):
            s.execute(
                delete(TrailNodeRow).where(
                    TrailNodeRow.level == node.level, TrailNodeRow.idx == node.index
                )
            )


def _forget_heads(services: Services) -> None:
    with services.store.transaction() as s:
        s.execute(delete(TreeHeadRow))
        s.execute(delete(CheckpointRow))


def _checkpoint_sizes(services: Services) -> list[int]:
    with services.store.transaction() as s:
        return list(s.scalars(select(CheckpointRow.size).order_by(CheckpointRow.size)))


def _readyz(services: Services) -> dict[str, Any]:
    from gateway.app import create_app

    app = create_app(services.config, services)
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.get_json()
    return body


def _gauge(services: Services) -> float | None:
    from gateway.app import create_app

    app = create_app(services.config, services)
    registry = app.extensions["nsw-metrics"]
    return registry.get_sample_value("nsw_trail_signer_refusing")  # type: ignore[no-any-return]


def test_each_tree_head_comes_with_a_checkpoint_signed_by_the_log_key(
    services: Services, pki: DevPki
) -> None:
    _append(services, 5)
    services.auditor.issue_tree_head()
    _append(services, 9)
    head = services.auditor.issue_tree_head()
    assert _checkpoint_sizes(services) == [5, 14]
    with services.store.transaction() as s:
        note = s.get_one(CheckpointRow, 14).note
    vkey = (pki.directory / LOG_VKEY_FILE).read_text().strip()
    _note, verified = verify_note(note, [verifier_from_vkey(vkey)])
    checkpoint = parse_checkpoint(verified.text)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (
        "kz.nsw.gateway/trail",
        14,
        head.root,
    )
    assert _readyz(services)["checks"]["trail_signer"] == "ok"
    assert _gauge(services) == 0


def test_a_rewritten_history_is_refused_and_the_first_bad_size_named(services: Services) -> None:
    _append(services, 20)
    services.auditor.issue_tree_head()
    # The attack: change entry 17's message, recompute every node, forget the tree heads.
    with services.store.transaction() as s:
        row = s.scalars(select(MessageRow).where(MessageRow.seq == 17)).one()
        row.body = b"a different message"
        fields = read_entry(row.entry)
        fields["sha256"] = hashlib.sha256(row.body).hexdigest()
        row.entry = entry_bytes(fields)
    _recompute_nodes(services)
    _forget_heads(services)
    _append(services, 3)

    with pytest.raises(SignerRefusing, match=r"within entries 16\.\.19: consistent up to size 16"):
        services.auditor.issue_tree_head()
    assert _checkpoint_sizes(services) == []  # nothing signed over the forged tree
    with services.store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(TreeHeadRow)) == 0
    ready = _readyz(services)
    assert ready["status"] == "degraded"
    assert "consistent up to size 16" in ready["checks"]["trail_signer"]
    assert _gauge(services) == 1


def test_a_deleted_last_entry_is_refused_as_a_smaller_tree(services: Services) -> None:
    _append(services, 9)
    services.auditor.issue_tree_head()
    _delete_last_entry(services, 8)
    _forget_heads(services)
    with pytest.raises(SignerRefusing, match="8 entries, fewer than the 9"):
        services.auditor.issue_tree_head()
    assert _checkpoint_sizes(services) == []


def test_the_signer_keeps_refusing_after_a_restart_until_an_operator_resets_it(
    pki: DevPki, database_url: str, services: Services
) -> None:
    _append(services, 4)
    services.auditor.issue_tree_head()
    _delete_last_entry(services, 3)
    _forget_heads(services)
    with pytest.raises(SignerRefusing):
        services.auditor.issue_tree_head()
    # Put the entry back (the operator restored the row): a restarted gateway still refuses.
    _append(services, 1)
    restarted = build_services(
        gateway_config(pki, database_url, endpoints_never_called(), dispatcher_threads=0)
    )
    try:
        with pytest.raises(SignerRefusing, match="Refusing since"):
            restarted.auditor.issue_tree_head()
        assert _checkpoint_sizes(restarted) == []
        # The operator accepts the log as it now is; the decision is an entry of the trail.
        said = restarted.auditor.reset_signer("ops-anna", "entry 3 restored from backup", True)
        assert said == "entry 4: accept-current-log"
        head = restarted.auditor.issue_tree_head()
        assert head.size == 5 and _checkpoint_sizes(restarted) == [5]
        with restarted.store.transaction() as s:
            decision = s.scalars(select(MessageRow).where(MessageRow.seq == 4)).one()
        assert decision.kind == "operator-decision"
        assert b"entry 3 restored from backup" in decision.body
        assert _readyz(restarted)["checks"]["trail_signer"] == "ok"
    finally:
        restarted.close()
