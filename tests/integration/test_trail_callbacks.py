"""Agencies' callbacks in the trail (issue 18, item 5): a REST callback is kept whole (method,
target, signature fields, body) and a SOAP callback as its envelope, so the offline verifier
re-checks each with the agency's pinned certificate from the evidence bundle alone."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from gateway.bootstrap import Services
from gateway.pki.dev import DevPki
from gateway.trail.verify import Check, verify_bundle
from gateway.trust.certificates import load_certificates
from simulators.server import RunningAgency
from tests.gateway_fixtures import KeyringClient
from tests.polling import wait_until
from wire import exchange


@pytest.fixture
def answered_by_callback(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
) -> Callable[[str], tuple[Any, str]]:
    """answered_by_callback(code): a decided application whose `code` case was answered later."""

    def make(code: str) -> tuple[Any, str]:
        agency = own_agency(code, answer_later=True, callback_delay_s=0.2)
        _, services, client = gateway_at(agency_urls={code: agency.url})
        application_id = client.submit(signed_sample("fresh-apples-import"))["id"]
        wait_until(lambda: client.status(application_id)["status"] == "decided", 30, "a decision")
        return services, application_id

    return make


def _verify(bundle: dict[str, Any], pki: Any) -> list[Check]:
    return verify_bundle(
        bundle, load_certificates(pki.directory / "root-ca.pem"), pki.certificate("gateway")
    )


def _callback_checks(checks: list[Check]) -> list[Check]:
    return [c for c in checks if " callback " in c.what and "signature" in c.check]


@pytest.mark.parametrize(
    ("code", "check"),
    [("health", "RFC 9421 signature by health"), ("customs", "WS-Security signature by customs")],
)
def test_a_callback_is_rechecked_offline_from_the_bundle(
    answered_by_callback: Callable[[str], tuple[Any, str]], pki: DevPki, code: str, check: str
) -> None:
    services, application_id = answered_by_callback(code)
    (kept,) = [m for m in services.store.messages(application_id) if m.kind == "callback"]
    if code == "health":  # REST: kept whole, as the record the verifier reads
        record = exchange.read_record(kept.body)
        assert (
            record.method == "POST"
            and record.target
            and "/api/v1/callbacks/health" in record.target
        )
        assert {"signature", "signature-input", "content-digest"} <= set(record.fields)
        assert json.loads(record.body)["caseId"]
    checks = _verify(services.auditor.bundle(application_id), pki)
    assert [c.line() for c in checks if not c.ok] == []
    (callback,) = _callback_checks(checks)
    assert callback.ok and callback.checked and callback.check == check
    # The decision cites the callback's answer, and the bundle holds it.
    assert any(c.what == "decision" and "agency answer" in c.check for c in checks)


def _tamper_signature(bundle: dict[str, Any]) -> int:
    """Change one byte of the kept REST callback's signature; return the entry's index."""
    for item in bundle["entries"]:
        body = base64.b64decode(item["body"])
        if item.get("kind") == "callback" and exchange.is_record(body):
            record = json.loads(body)
            signature = record["fields"]["signature"]
            at = signature.index(":") + 5  # a byte inside the base64 signature value
            swapped = "B" if signature[at] != "B" else "C"
            record["fields"]["signature"] = signature[:at] + swapped + signature[at + 1 :]
            item["body"] = base64.b64encode(json.dumps(record).encode()).decode()
            return int(item["seq"])
    raise AssertionError("no REST callback kept whole in the bundle")


def test_one_changed_byte_in_a_kept_callback_signature_fails_naming_the_entry(
    answered_by_callback: Callable[[str], tuple[Any, str]], pki: DevPki
) -> None:
    services, application_id = answered_by_callback("health")
    bundle = services.auditor.bundle(application_id)
    seq = _tamper_signature(bundle)
    failures = [c.line() for c in _verify(bundle, pki) if not c.ok]
    assert any(
        line.startswith(f"FAIL entry {seq} callback in agency:health: RFC 9421 signature")
        for line in failures
    ), failures


def test_a_callback_without_its_agency_certificate_is_not_checked_never_ok(
    answered_by_callback: Callable[[str], tuple[Any, str]], pki: DevPki
) -> None:
    services, application_id = answered_by_callback("health")
    bundle = services.auditor.bundle(application_id)
    bundle["agency_certificates"] = {}
    (callback,) = _callback_checks(_verify(bundle, pki))
    assert not callback.checked and callback.line().startswith("n/c ")
    assert "NOT CHECKED" in callback.line()


def test_one_changed_byte_in_a_kept_soap_callback_fails_naming_the_entry(
    answered_by_callback: Callable[[str], tuple[Any, str]], pki: DevPki
) -> None:
    services, application_id = answered_by_callback("customs")
    bundle = services.auditor.bundle(application_id)
    for item in bundle["entries"]:
        if item.get("kind") == "callback":
            envelope = base64.b64decode(item["body"])
            at = envelope.index(b"SignatureValue>") + len(b"SignatureValue>") + 4
            changed = envelope[:at] + (b"A" if envelope[at : at + 1] != b"A" else b"B")
            item["body"] = base64.b64encode(changed + envelope[at + 1 :]).decode()
            seq = int(item["seq"])
            break
    else:
        raise AssertionError("no SOAP callback in the bundle")
    failures = [c.line() for c in _verify(bundle, pki) if not c.ok]
    assert any(
        line.startswith(f"FAIL entry {seq} callback in agency:customs: WS-Security signature")
        for line in failures
    ), failures
