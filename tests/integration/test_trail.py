"""The message trail: evidence bundles verify offline, and tampering with the database is named."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.pki.dev import DevPki
from gateway.storage.models import MessageRow, TreeHeadRow
from gateway.trail.format import TreeHead
from gateway.trail.merkle import MerkleProofError, leaf_hash, verify_inclusion
from gateway.trail.verify import verify_bundle, verify_tree_heads
from gateway.trust.certificates import load_certificates
from tests.gateway_fixtures import RunningGateway

TOKEN = "test-audit-token"


@pytest.fixture
def decided(
    gateway: Callable[..., RunningGateway], signed_sample: Callable[..., bytes]
) -> tuple[RunningGateway, str]:
    """A gateway with one decided application (the refused cattle import)."""
    gw = gateway(audit_tokens=(TOKEN,))
    accepted = gw.client.submit(signed_sample("live-cattle-import"))
    gw.client.wait_for_decision(accepted["id"], deadline_s=60)
    gw.services.auditor.integrate()  # every message in its place, as the tests below tamper by seq
    return gw, accepted["id"]


def _verify(gw: RunningGateway, pki: DevPki, application_id: str) -> list[Any]:
    bundle = gw.services.auditor.bundle(application_id)
    return verify_bundle(
        bundle, load_certificates(pki.directory / "root-ca.pem"), pki.certificate("gateway")
    )


def _failures(checks: list[Any]) -> list[str]:
    return [c.line() for c in checks if not c.ok]


def test_bundle_of_a_decided_application_verifies_offline(
    decided: tuple[RunningGateway, str], pki: DevPki
) -> None:
    gw, application_id = decided
    checks = _verify(gw, pki, application_id)
    assert _failures(checks) == []
    kinds = {c.what.split()[2] for c in checks if c.what.startswith("entry ")}
    assert {"application", "agency-request", "agency-answer", "decision"} <= kinds
    assert any("XML signature by the declarant" in c.check for c in checks)
    assert any("XML signature by the gateway" in c.check for c in checks)
    # Agency exchanges are re-checked from the trail alone: REST by RFC 9421 (answers bound to
    # their requests), SOAP by WS-Security, with the agencies' certificates the bundle carries.
    agency = [c for c in checks if " agency-" in c.what and "signature by" in c.check]
    assert {c.check.split(" signature")[0] for c in agency} == {"RFC 9421", "WS-Security"}
    assert all(c.ok and c.checked for c in agency)


def test_an_agency_answer_without_its_certificate_is_not_checked_never_ok(
    decided: tuple[RunningGateway, str], pki: DevPki
) -> None:
    gw, application_id = decided
    bundle = gw.services.auditor.bundle(application_id)
    bundle["agency_certificates"] = {}
    checks = verify_bundle(
        bundle, load_certificates(pki.directory / "root-ca.pem"), pki.certificate("gateway")
    )
    answers = [c for c in checks if " agency-answer " in c.what]
    unchecked = [c for c in answers if not c.checked]
    assert unchecked and all(c.line().startswith("n/c") for c in unchecked)
    assert not any(c.ok and c.checked and "signature" in c.check for c in answers)


def test_a_changed_byte_in_a_kept_agency_signature_fails(
    decided: tuple[RunningGateway, str], pki: DevPki
) -> None:
    gw, application_id = decided
    bundle = gw.services.auditor.bundle(application_id)
    for item in bundle["entries"]:
        body = base64.b64decode(item["body"])
        if b"nsw-http-message-1" in body and b'"status":200' in body:
            record = json.loads(body)
            record["fields"]["signature"] = record["fields"]["signature"].replace("A", "B", 1)
            item["body"] = base64.b64encode(json.dumps(record).encode()).decode()
            break
    else:
        raise AssertionError("no REST answer in the bundle")
    checks = verify_bundle(
        bundle, load_certificates(pki.directory / "root-ca.pem"), pki.certificate("gateway")
    )
    assert any(not c.ok and "RFC 9421" in c.check for c in checks)


def _with_session(gw: RunningGateway) -> AbstractContextManager[Session]:
    return gw.services.store.transaction()


def test_one_changed_byte_in_a_stored_message_is_named(
    decided: tuple[RunningGateway, str], pki: DevPki
) -> None:
    gw, application_id = decided
    with _with_session(gw) as s:
        row = s.scalars(
            select(MessageRow).where(
                MessageRow.kind == "agency-answer", MessageRow.application_id == application_id
            )
        ).first()
        assert row is not None
        body = bytearray(row.body)
        body[len(body) // 2] ^= 0x01
        row.body = bytes(body)
        seq = row.seq
    failures = _failures(_verify(gw, pki, application_id))
    assert any(f"entry {seq} agency-answer" in f and "body SHA-256" in f for f in failures), (
        failures
    )


def test_a_rewritten_entry_breaks_its_inclusion_proof(
    decided: tuple[RunningGateway, str], pki: DevPki
) -> None:
    gw, application_id = decided
    with _with_session(gw) as s:
        row = s.scalars(select(MessageRow).where(MessageRow.kind == "application")).first()
        assert row is not None
        row.entry = row.entry.replace(b'"direction":"in"', b'"direction":"out"')
        seq = row.seq
    failures = _failures(_verify(gw, pki, application_id))
    assert any(f.startswith(f"FAIL entry {seq} ") and "inclusion proof" in f for f in failures), (
        failures
    )


def test_a_deleted_agency_answer_is_missed_by_the_decision_check(
    decided: tuple[RunningGateway, str], pki: DevPki
) -> None:
    gw, application_id = decided
    with _with_session(gw) as s:
        row = s.scalars(
            select(MessageRow).where(
                MessageRow.kind == "agency-answer", MessageRow.application_id == application_id
            )
        ).first()
        s.delete(row)
    failures = _failures(_verify(gw, pki, application_id))
    assert any("decision: agency answer" in f and "is in the bundle" in f for f in failures), (
        failures
    )


def test_two_swapped_entries_are_named(decided: tuple[RunningGateway, str], pki: DevPki) -> None:
    gw, application_id = decided
    with _with_session(gw) as s:
        rows = s.scalars(
            select(MessageRow)
            .where(MessageRow.application_id == application_id)
            .order_by(MessageRow.seq)
        ).all()
        a, b = rows[1], rows[2]
        a.entry, b.entry = b.entry, a.entry
        a.body, b.body = b.body, a.body
        seqs = (a.seq, b.seq)
    failures = _failures(_verify(gw, pki, application_id))
    for seq in seqs:
        assert any(f.startswith(f"FAIL entry {seq} ") for f in failures), failures


def test_a_rewritten_tree_head_fails_its_signature(
    decided: tuple[RunningGateway, str], pki: DevPki
) -> None:
    gw, application_id = decided
    head = gw.services.auditor.issue_tree_head()
    with _with_session(gw) as s:
        s.execute(
            update(TreeHeadRow).where(TreeHeadRow.size == head.size).values(root=b"\x00" * 32)
        )
    failures = _failures(_verify(gw, pki, application_id))
    assert any("tree head" in f and "gateway signature" in f for f in failures), failures


def test_proofs_from_the_audit_api(
    decided: tuple[RunningGateway, str], pki: DevPki, signed_sample: Callable[..., bytes]
) -> None:
    gw, application_id = decided
    session = gw.client.session
    auth = {"Authorization": f"Bearer {TOKEN}"}
    first = TreeHead.from_json(session.get(f"{gw.url}/api/v1/audit/tree-head", headers=auth).json())
    gw.client.submit(signed_sample("fresh-apples-import"))
    second = gw.services.auditor.issue_tree_head()
    assert second.size > first.size

    proof = session.get(
        f"{gw.url}/api/v1/audit/proofs/consistency",
        params={"first": first.size, "second": second.size},
        headers=auth,
    ).json()["proof"]
    checks = verify_tree_heads(
        first, second, [bytes.fromhex(p) for p in proof], pki.certificate("gateway")
    )
    assert _failures(checks) == []
    forged = TreeHead(second.size, b"\x11" * 32, second.issued_at, second.signature)
    assert _failures(
        verify_tree_heads(
            first, forged, [bytes.fromhex(p) for p in proof], pki.certificate("gateway")
        )
    )

    entries = session.get(
        f"{gw.url}/api/v1/audit/applications/{application_id}/entries", headers=auth
    ).json()
    seq = entries[0]["seq"]
    inclusion = session.get(
        f"{gw.url}/api/v1/audit/proofs/inclusion",
        params={"seq": seq, "size": second.size},
        headers=auth,
    ).json()["proof"]
    leaf = leaf_hash(base64.b64decode(entries[0]["entry"]))
    verify_inclusion(leaf, seq, second.size, [bytes.fromhex(p) for p in inclusion], second.root)
    with pytest.raises(MerkleProofError):
        verify_inclusion(
            leaf, seq + 1, second.size, [bytes.fromhex(p) for p in inclusion], second.root
        )


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}"])
def test_audit_api_is_for_auditors_only(
    decided: tuple[RunningGateway, str], header: str | None
) -> None:
    gw, application_id = decided
    headers = {"Authorization": header} if header else {}
    response = gw.client.session.get(
        f"{gw.url}/api/v1/audit/applications/{application_id}/bundle", headers=headers
    )
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "entries" not in response.text
