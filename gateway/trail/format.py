"""How trail entries and tree heads are written down — shared by the gateway and the offline
verifier, so neither needs the other's database to agree on a byte.

A trail entry is the leaf input of the Merkle log (RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 ‖ entry)).
It is a canonical JSON object naming the message (sequence number, kind, direction, counterpart,
application, case, media type, time, signer) and the SHA-256 of the message body, so the body itself
is checked against the entry, and the entry against the log.

A tree head is a short text note — origin, size, base64 root, time — signed by the gateway.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

ENTRY_PREFIX = b"NSW-TRAIL-ENTRY-1\n"
TREE_HEAD_ORIGIN = "kz.nsw.gateway/trail"


def precise(moment: dt.datetime) -> str:
    """UTC time with microseconds: entries are ordered, so their times keep full precision."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_bytes(fields: dict[str, Any]) -> bytes:
    """The canonical leaf input for a message described by `fields` (must include seq, sha256)."""
    return ENTRY_PREFIX + json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def read_entry(entry: bytes) -> dict[str, Any]:
    """The fields of a trail entry; ValueError for anything that is not one (the entry may come
    from outside: a bundle, a tile)."""
    if not entry.startswith(ENTRY_PREFIX):
        raise ValueError("not a trail entry (wrong prefix)")
    try:
        fields = json.loads(entry[len(ENTRY_PREFIX) :])
    except RecursionError as exc:  # JSON nested deeper than the parser's stack
        raise ValueError("not a trail entry (nested too deeply)") from exc
    if not isinstance(fields, dict):
        raise ValueError("not a trail entry (its fields are not a JSON object)")
    return fields


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes
    issued_at: str  # RFC 3339 UTC
    signature: bytes = b""

    def note(self) -> bytes:
        """The exact bytes the gateway signs."""
        root = base64.b64encode(self.root).decode("ascii")
        return f"{TREE_HEAD_ORIGIN}\n{self.size}\n{root}\n{self.issued_at}\n".encode("ascii")

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": TREE_HEAD_ORIGIN,
            "size": self.size,
            "root": self.root.hex(),
            "issued_at": self.issued_at,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TreeHead:
        if doc.get("origin") != TREE_HEAD_ORIGIN:
            raise ValueError(f"tree head of another log: {doc.get('origin')!r}")
        return cls(
            size=int(doc["size"]),
            root=bytes.fromhex(doc["root"]),
            issued_at=str(doc["issued_at"]),
            signature=base64.b64decode(doc["signature"]),
        )


def sign_tree_head(head: TreeHead, key: PrivateKeyTypes) -> TreeHead:
    note = head.note()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(note, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(note, ec.ECDSA(hashes.SHA256()))
    else:
        raise ValueError("the gateway key must be RSA or ECDSA")
    return TreeHead(head.size, head.root, head.issued_at, signature)


def tree_head_signature_valid(head: TreeHead, gateway_cert: x509.Certificate) -> bool:
    key = gateway_cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(head.signature, head.note(), padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(head.signature, head.note(), ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except InvalidSignature:
        return False
    return True
