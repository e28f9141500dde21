"""An evidence bundle read strictly: the offline verifier's input, from outside, trusted in nothing.

`read_bundle` turns the parsed JSON document (`Auditor.bundle`, `nsw audit export`, the audit API)
into typed values, or raises `UnreadableBundle` with a sentence naming the member at fault
(`entries[3].seq: ...`). Every check after it works on these values, so a bundle of the wrong shape
— wrong types, bad base64 or hex, a missing member, a negative or absurdly large number, a time
without a zone — is refused whole with that sentence, never half-read and never a traceback.
What the members *say* (a signature, a proof, an entry's fields) is judged by the verifier.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.trail.format import TREE_HEAD_ORIGIN, TreeHead

# Sizes and sequence numbers are those of a database's BIGINT: nothing larger is a real log.
MAX_INDEX = 2**63 - 1
HASH_BYTES = 32


class UnreadableBundle(ValueError):
    """The document is not an evidence bundle of this format; the message names the member."""


@dataclass(frozen=True)
class BundleEntry:
    seq: int
    kind: str | None  # the bundle's unsigned label; the entry's own fields are what counts
    entry: bytes
    body: bytes
    inclusion_proof: tuple[bytes, ...]


@dataclass(frozen=True)
class BundleDocument:
    """A supporting document the bundle carries: the digest it claims and the bytes."""

    sha256: str
    content: bytes


@dataclass(frozen=True)
class Bundle:
    application_id: str
    tree_head: TreeHead
    head_time: dt.datetime
    gateway_chain: tuple[str, ...]
    agency_certificates: Mapping[str, str]
    entries: tuple[BundleEntry, ...]
    attachments: tuple[BundleDocument, ...] = ()


def read_bundle(document: Any) -> Bundle:
    doc = _object(document, "the bundle")
    head, head_time = read_tree_head(_member(doc, "tree_head", "the bundle"), "tree_head")
    chain = _list(doc.get("gateway_chain", []), "gateway_chain")
    certs = doc.get("agency_certificates") or {}
    certs = _object(certs, "agency_certificates")
    return Bundle(
        application_id=_text(_member(doc, "application_id", "the bundle"), "application_id"),
        tree_head=head,
        head_time=head_time,
        gateway_chain=tuple(_text(pem, f"gateway_chain[{i}]") for i, pem in enumerate(chain)),
        agency_certificates={
            code: _text(pem, f"agency_certificates.{code}") for code, pem in certs.items()
        },
        entries=tuple(
            _entry(item, f"entries[{i}]")
            for i, item in enumerate(_list(doc.get("entries", []), "entries"))
        ),
        attachments=tuple(
            _document(item, f"attachments[{i}]")
            for i, item in enumerate(_list(doc.get("attachments", []), "attachments"))
        ),
    )


def read_tree_head(document: Any, where: str = "tree head") -> tuple[TreeHead, dt.datetime]:
    """A tree head JSON object (`TreeHead.to_json`) and the time it names, read strictly."""
    doc = _object(document, where)
    origin = doc.get("origin")
    if origin != TREE_HEAD_ORIGIN:
        named = f"{origin!r:.80}" if isinstance(origin, str) else type(origin).__name__
        raise UnreadableBundle(f"{where}.origin: a tree head of another log: {named}")
    root = _hex(_member(doc, "root", where), f"{where}.root")
    if len(root) != HASH_BYTES:
        raise UnreadableBundle(f"{where}.root: {len(root)} bytes, not a SHA-256 root")
    issued_at = _text(_member(doc, "issued_at", where), f"{where}.issued_at")
    head = TreeHead(
        size=_index(_member(doc, "size", where), f"{where}.size"),
        root=root,
        issued_at=issued_at,
        signature=_base64(_member(doc, "signature", where), f"{where}.signature"),
    )
    return head, read_time(issued_at, f"{where}.issued_at")


def read_time(value: Any, where: str) -> dt.datetime:
    """An RFC 3339 time with its zone ("Z" or an offset); a time without one is refused, since
    it cannot be compared with a certificate's validity."""
    if not isinstance(value, str):
        raise UnreadableBundle(f"{where}: not an RFC 3339 time: {type(value).__name__}")
    if not value.isascii():
        raise UnreadableBundle(f"{where}: not an RFC 3339 time: {value!r:.60}")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UnreadableBundle(f"{where}: not an RFC 3339 time: {value!r:.60}") from exc
    if moment.tzinfo is None:
        raise UnreadableBundle(f"{where}: the time {value!r:.60} names no zone")
    return moment


def _entry(value: Any, where: str) -> BundleEntry:
    item = _object(value, where)
    kind = item.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise UnreadableBundle(f"{where}.kind: not a string")
    proof = _list(_member(item, "inclusion_proof", where), f"{where}.inclusion_proof")
    return BundleEntry(
        seq=_index(_member(item, "seq", where), f"{where}.seq"),
        kind=kind,
        entry=_base64(_member(item, "entry", where), f"{where}.entry"),
        body=_base64(_member(item, "body", where), f"{where}.body"),
        inclusion_proof=tuple(
            _hex(node, f"{where}.inclusion_proof[{i}]") for i, node in enumerate(proof)
        ),
    )


def _document(value: Any, where: str) -> BundleDocument:
    item = _object(value, where)
    return BundleDocument(
        sha256=_text(_member(item, "sha256", where), f"{where}.sha256"),
        content=_base64(_member(item, "content", where), f"{where}.content"),
    )


def _member(doc: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in doc:
        raise UnreadableBundle(f"{where} has no member {name!r}")
    return doc[name]


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UnreadableBundle(f"{where}: not a JSON object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise UnreadableBundle(f"{where}: not a JSON array")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise UnreadableBundle(f"{where}: not a string")
    return value


def _index(value: Any, where: str) -> int:
    # bool is an int in Python, not in JSON; a float (1.0, 1e300) is not a whole number here.
    if type(value) is not int:
        raise UnreadableBundle(f"{where}: not a whole number: {type(value).__name__}")
    if not 0 <= value <= MAX_INDEX:  # never printed: a huge int has no str() (Python 3.11+)
        raise UnreadableBundle(f"{where}: out of range (0 to 2^63-1)")
    return value


def _base64(value: Any, where: str) -> bytes:
    text = _text(value, where)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnreadableBundle(f"{where}: not base64") from exc


def _hex(value: Any, where: str) -> bytes:
    text = _text(value, where)
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise UnreadableBundle(f"{where}: not hexadecimal") from exc
