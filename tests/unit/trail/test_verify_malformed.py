"""`nsw audit verify BUNDLE` never tracebacks (issue 18): a malformed evidence bundle — not JSON,
wrong types, bad base64, missing members, huge or negative numbers — ends in a sentence and a
non-zero exit, through the verifier function and through the CLI.

The base bundle is made here as the gateway makes one (entries, inclusion proofs against a tree
head signed by the dev PKI's gateway key), so each mutation reaches the code it aims at."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cli.main import main
from gateway.pki.dev import DevPki
from gateway.trail.bundle import UnreadableBundle
from gateway.trail.format import TreeHead, entry_bytes, precise, sign_tree_head
from gateway.trail.merkle import InMemorySubtreeHashes, inclusion_proof, leaf_hash, tree_root
from gateway.trail.verify import Check, verify_bundle
from gateway.trust.certificates import load_certificates
from wire import exchange

APP = "APP-1"
WHEN = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _bundle(pki: DevPki) -> dict[str, Any]:
    record = exchange.record(
        {"content-type": "application/json", "signature": "sig=:AAAA:"},
        b'{"caseId":"C-1"}',
        status=200,
    )
    messages = [
        ("application", None, b"<Application/>"),
        ("agency-request", "C-1", b"<Envelope/>"),
        ("agency-answer", "C-1", record),
        ("decision", None, b"<Decision/>"),
    ]
    entries, hashes = [], InMemorySubtreeHashes()
    for seq, (kind, case, body) in enumerate(messages):
        fields = {
            "seq": seq, "kind": kind, "direction": "in", "counterpart": "agency:health",
            "application_id": APP, "case_id": case, "content_type": "application/xml",
            "time": precise(WHEN), "signer": None,
            "sha256": hashlib.sha256(body).hexdigest(),
        }  # fmt: skip
        entry = entry_bytes(fields)
        hashes.append(leaf_hash(entry))
        entries.append((seq, kind, entry, body))
    size = len(entries)
    key = serialization.load_pem_private_key(pki.key_path("gateway").read_bytes(), None)
    head = sign_tree_head(TreeHead(size, tree_root(size, hashes), precise(WHEN)), key)
    return {
        "format": "nsw-evidence-bundle/1",
        "application_id": APP,
        "tree_head": head.to_json(),
        "gateway_chain": [pki.cert_path("gateway").read_text()],
        "agency_certificates": {"health": (pki.directory / "agency-health.pem").read_text()},
        "entries": [
            {
                "seq": seq,
                "kind": kind,
                "direction": "in",
                "counterpart": "agency:health",
                "entry": base64.b64encode(entry).decode(),
                "body": base64.b64encode(body).decode(),
                "inclusion_proof": [p.hex() for p in inclusion_proof(seq, size, hashes)],
            }
            for seq, kind, entry, body in entries
        ],
    }


@pytest.fixture(scope="module")
def made(pki: DevPki) -> tuple[dict[str, Any], list[x509.Certificate], x509.Certificate]:
    anchors = load_certificates(pki.directory / "root-ca.pem")
    return _bundle(pki), anchors, pki.certificate("gateway")


def _run(made: Any, document: Any) -> list[Check] | UnreadableBundle:
    """The verifier's answer: its checks, or the refusal of an unreadable bundle — nothing else."""
    _, anchors, gateway = made
    try:
        return verify_bundle(document, anchors, gateway)
    except UnreadableBundle as exc:
        assert str(exc)  # a sentence, naming what is wrong
        return exc


def test_the_base_bundle_is_genuine_where_it_matters(made: Any) -> None:
    checks = _run(made, made[0])
    assert isinstance(checks, list)
    passed = {c.check.split(" in tree")[0] for c in checks if c.ok and c.checked}
    assert {"gateway signature", "inclusion proof", "body SHA-256 matches the entry"} <= passed


def _set(path: str, value: Any) -> Callable[[Any], Any]:
    def mutate(doc: Any) -> Any:
        *parents, last = path.split(".")
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is _DELETE:
            del node[last]
        else:
            node[last] = value
        return doc

    return mutate


_DELETE = object()


def _entry_fields(seq: int, change: Callable[[dict[str, Any]], Any]) -> Callable[[Any], Any]:
    """Rewrite entry `seq`'s own fields (the verifier then finds them changed, and says so)."""

    def mutate(doc: Any) -> Any:
        item = doc["entries"][seq]
        raw = base64.b64decode(item["entry"])
        prefix, fields = raw[:18], json.loads(raw[18:])
        new = change(fields)
        body = json.dumps(fields if new is None else new).encode()
        item["entry"] = base64.b64encode(prefix + body).decode()
        return doc

    return mutate


# (name, mutation, refused whole): refused whole is an UnreadableBundle; otherwise checks fail.
MUTATIONS: list[tuple[str, Callable[[Any], Any], bool]] = [
    ("not an object", lambda d: [d], True),
    ("null", lambda d: None, True),
    ("no tree head", _set("tree_head", _DELETE), True),
    ("no application id", _set("application_id", _DELETE), True),
    ("application id a number", _set("application_id", 7), True),
    ("negative size", _set("tree_head.size", -1), True),
    ("huge size", _set("tree_head.size", 10**400), True),
    ("size a string", _set("tree_head.size", "4"), True),
    ("size a float", _set("tree_head.size", 4.0), True),
    ("size a bool", _set("tree_head.size", True), True),
    ("root not hex", _set("tree_head.root", "zz"), True),
    ("root too short", _set("tree_head.root", "abcd"), True),
    ("signature not base64", _set("tree_head.signature", "@@@"), True),
    ("issued_at without zone", _set("tree_head.issued_at", "2026-06-01T12:00:00"), True),
    ("issued_at not a time", _set("tree_head.issued_at", "yesterday"), True),
    ("issued_at not ascii", _set("tree_head.issued_at", "2026-06-01T12:00:00Zé"), True),
    ("issued_at a number", _set("tree_head.issued_at", 10**400), True),
    ("another log", _set("tree_head.origin", "example.com/log"), True),
    ("entries an object", _set("entries", {}), True),
    ("entry a string", _set("entries.0", "x"), True),
    ("seq negative", _set("entries.1.seq", -3), True),
    ("seq huge", _set("entries.1.seq", 2**64), True),
    ("seq a string", _set("entries.1.seq", "1"), True),
    ("entry not base64", _set("entries.1.entry", "not base64!"), True),
    ("body missing", _set("entries.2.body", _DELETE), True),
    ("proof not a list", _set("entries.2.inclusion_proof", "00"), True),
    ("proof node not hex", _set("entries.2.inclusion_proof.0", "xyz"), True),
    ("kind a list", _set("entries.0.kind", ["decision"]), True),
    ("chain not a list", _set("gateway_chain", "PEM"), True),
    ("agency certificates a list", _set("agency_certificates", ["x"]), True),
    ("attachments an object", _set("attachments", {"sha256": "00"}), True),
    ("attachment a string", _set("attachments", ["x"]), True),
    ("attachment content not base64", _set("attachments", [{"sha256": "0", "content": "!"}]), True),
    ("attachment no digest", _set("attachments", [{"content": ""}]), True),
    (
        "attachment not signed",
        _set("attachments", [{"sha256": "0" * 64, "content": "eA=="}]),
        False,
    ),
    ("proof node short", _set("entries.2.inclusion_proof.0", "00"), False),
    ("chain garbage", _set("gateway_chain", ["-----BEGIN CERTIFICATE-----\nAA\n"]), False),
    ("agency certificate garbage", _set("agency_certificates", {"health": "x"}), False),
    ("seq beyond the tree", _set("entries.3.seq", 99), False),
    ("entry fields a list", _entry_fields(1, lambda f: [f]), False),
    ("entry time missing", _entry_fields(2, lambda f: f.pop("time") and None), False),
    ("entry time naive", _entry_fields(0, lambda f: f.update(time="2026-06-01T12:00:00")), False),
    ("entry time a number", _entry_fields(3, lambda f: f.update(time=5)), False),
    ("entry kind a dict", _entry_fields(2, lambda f: f.update(kind={})), False),
    ("entry nested deeply", _entry_fields(1, lambda f: json.loads("[" * 50 + "]" * 50)), False),
    ("decision not XML", _set("entries.3.body", base64.b64encode(b"{}").decode()), False),
    (
        "answer record of the wrong shape",
        _set("entries.2.body", base64.b64encode(b'{"format":"nsw-http-message-1"}').decode()),
        False,
    ),
]


@pytest.mark.parametrize(
    ("mutate", "whole"), [(m, w) for _, m, w in MUTATIONS], ids=[n for n, _, _ in MUTATIONS]
)
def test_a_malformed_bundle_is_refused_or_fails_never_a_traceback(
    made: Any, mutate: Callable[[Any], Any], whole: bool
) -> None:
    answer = _run(made, mutate(copy.deepcopy(made[0])))
    if whole:
        assert isinstance(answer, UnreadableBundle)
    else:
        assert isinstance(answer, list) and any(not c.ok for c in answer), answer


def _paths(node: Any, at: str = "") -> list[str]:
    found = [at] if at else []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        found += _paths(child, f"{at}.{key}" if at else str(key))
    return found


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_member_replaced_or_removed_never_tracebacks(made: Any, data: st.DataObject) -> None:
    document = copy.deepcopy(made[0])
    path = data.draw(st.sampled_from(_paths(document)))
    value = data.draw(st.one_of(st.just(_DELETE), JSON_VALUES))
    if value is _DELETE and path.rsplit(".", 1)[-1].isdigit():
        value = None  # an array item is replaced, not removed
    _run(made, _set(path, value)(document))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_byte_changed_in_an_entry_or_body_never_tracebacks(
    made: Any, data: st.DataObject
) -> None:
    document = copy.deepcopy(made[0])
    item = document["entries"][data.draw(st.integers(0, len(document["entries"]) - 1))]
    member = data.draw(st.sampled_from(["entry", "body"]))
    raw = bytearray(base64.b64decode(item[member]))
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]  # and maybe truncated
    item[member] = base64.b64encode(bytes(raw)).decode()
    answer = _run(made, document)
    assert isinstance(answer, list)


# --- through the CLI ------------------------------------------------------------------------------


def _cli(pki: DevPki, path: Path) -> Any:
    return CliRunner().invoke(
        main,
        [
            "audit", "verify", str(path), "--ca", str(pki.directory / "root-ca.pem"),
            "--gateway-cert", str(pki.cert_path("gateway")),
        ],
    )  # fmt: skip


FILES: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("not JSON", b"this is not JSON"),
    ("not UTF-8", b'{"a": "\xff\xfe"}'),
    ("nested deeper than the parser", b"[" * 100_000 + b"]" * 100_000),
    ("a number of 5000 digits", b'{"tree_head": {"size": ' + b"9" * 5000 + b"}}"),
    ("an array", b"[]"),
]


@pytest.mark.parametrize("content", [c for _, c in FILES], ids=[n for n, _ in FILES])
def test_the_cli_says_what_is_wrong_with_a_file_that_is_no_bundle(
    pki: DevPki, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(content)
    result = _cli(pki, path)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.output.startswith("Error: ") and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("mutate", "whole"), [(m, w) for _, m, w in MUTATIONS], ids=[n for n, _, _ in MUTATIONS]
)
def test_the_cli_never_tracebacks_on_a_malformed_bundle(
    made: Any, pki: DevPki, tmp_path: Path, mutate: Callable[[Any], Any], whole: bool
) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(mutate(copy.deepcopy(made[0]))))
    result = _cli(pki, path)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    if whole:
        assert (
            result.output.startswith("Error: ") and "is not an evidence bundle (" in result.output
        )
    else:
        assert "FAIL" in result.output


@pytest.mark.parametrize(
    "proof",
    [b"{}", b'{"proof": "zz"}', b'{"proof": ["zz"]}', b'{"proof": [1]}', b"[]", b"nope"],
    ids=["no proof", "proof a string", "hash not hex", "hash a number", "an array", "not JSON"],
)
def test_nsw_audit_consistency_says_what_is_wrong_with_a_proof_file(
    made: Any, pki: DevPki, tmp_path: Path, proof: bytes
) -> None:
    head = tmp_path / "head.json"
    head.write_text(json.dumps(made[0]["tree_head"]))
    (tmp_path / "proof.json").write_bytes(proof)
    result = CliRunner().invoke(
        main,
        ["audit", "consistency", str(head), str(head), "--gateway-cert",
         str(pki.cert_path("gateway")), "--proof", str(tmp_path / "proof.json")],
    )  # fmt: skip
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.output.startswith("Error: ") and "Traceback" not in result.output


def test_nsw_audit_consistency_still_checks_a_good_proof(
    made: Any, pki: DevPki, tmp_path: Path
) -> None:
    head = tmp_path / "head.json"
    head.write_text(json.dumps(made[0]))  # a bundle holds its tree head
    (tmp_path / "proof.json").write_text('{"proof": []}')  # the same head: nothing to prove
    result = CliRunner().invoke(
        main,
        ["audit", "consistency", str(head), str(head), "--gateway-cert",
         str(pki.cert_path("gateway")), "--proof", str(tmp_path / "proof.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ok   size 4 -> 4: consistency proof" in result.output
