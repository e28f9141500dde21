"""Checkpoints (c2sp.org/tlog-checkpoint) and their Ed25519 cosignatures (c2sp.org/tlog-cosignature).

A checkpoint is the note text `<origin>\\n<size>\\n<base64 root>\\n[extension lines]`, signed by the
log's key under the origin as key name. A witness's cosignature is a note signature of type 0x04 whose
signature is `timestamp (u64, big-endian) ‖ Ed25519(cosignature/v1\\ntime <t>\\n ‖ checkpoint body)`.
Pure: no I/O.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.trail.note import (
    ED25519,
    Ed25519Verifier,
    NoteError,
    NoteVerifier,
    Signature,
    b64,
    b64decode,
    check_key_name,
    key_id,
    parse_vkey,
)

COSIGNATURE_V1 = 0x04  # signature type of timestamped Ed25519 cosignatures
HASH_SIZE = 32
_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")
MAX_SIZE = 2**64 - 1
MAX_TIMESTAMP = 2**63 - 1


class CheckpointError(NoteError):
    """A checkpoint body or a cosignature is malformed."""


@dataclass(frozen=True)
class Checkpoint:
    """The three lines every log and witness agree on, plus opaque extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("checkpoint origin must be one non-empty line")
        if self.size < 0:
            raise CheckpointError(f"checkpoint size {self.size} is negative")
        if len(self.root) != HASH_SIZE:
            raise CheckpointError(f"checkpoint root is {len(self.root)} bytes, not {HASH_SIZE}")
        if any(not line or "\n" in line for line in self.extensions):
            raise CheckpointError("checkpoint extension lines must be non-empty single lines")

    def body(self) -> str:
        """The note text (tlog-checkpoint § Note text), final newline included."""
        lines = [self.origin, str(self.size), b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint in a note's text; `CheckpointError` naming the first line that is wrong."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(f"checkpoint has {len(lines)} lines, fewer than 3")
    origin, size, root, *extensions = lines
    if not _DECIMAL.match(size):
        raise CheckpointError(f"checkpoint size {size[:30]!r} is not a decimal without zeros")
    # A tree size is a uint64 (what every tlog implementation reads); checked before int(),
    # which refuses more than 4300 digits with a bare ValueError.
    if len(size) > 20 or int(size) > MAX_SIZE:
        raise CheckpointError(f"checkpoint size {size[:30]!r} is larger than 2^64-1")
    digest = b64decode(root, "checkpoint root hash")
    return Checkpoint(origin, int(size), digest, tuple(extensions))


def cosignature_message(body: str, timestamp: int) -> bytes:
    """What a v1 cosigner signs: `cosignature/v1\\ntime <t>\\n` ‖ checkpoint body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CheckpointError(f"cosignature time {timestamp} is out of range")
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's Ed25519 cosigning key (type 0x04); a `NoteVerifier` over checkpoint notes."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, COSIGNATURE_V1, self.public_key)

    @property
    def vkey(self) -> str:
        material = b64(bytes([COSIGNATURE_V1]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def verify(self, text: str, signature: bytes) -> bool:
        if len(signature) != 8 + 64:
            return False
        (timestamp,) = struct.unpack(">Q", signature[:8])
        if timestamp > MAX_TIMESTAMP:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                signature[8:], cosignature_message(text, timestamp)
            )
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Cosigner:
    """Makes timestamped cosignatures, as a witness does."""

    name: str
    key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.key.public_key().public_bytes_raw())

    def cosign(self, body: str, timestamp: int) -> Signature:
        signed = self.key.sign(cosignature_message(body, timestamp))
        return Signature(self.name, self.verifier.key_id, struct.pack(">Q", timestamp) + signed)


def cosignature_time(signature: Signature) -> int:
    """The POSIX time a cosignature says it was made (not verified here)."""
    if len(signature.signature) < 8:
        raise CheckpointError(f"cosignature by {signature.name} has no timestamp")
    (timestamp,) = struct.unpack(">Q", signature.signature[:8])
    return int(timestamp)


def verifier_from_vkey(vkey: str) -> NoteVerifier:
    """An Ed25519 note key (0x01) or an Ed25519 cosigning key (0x04) from its vkey."""
    name, _kid, sig_type, public = parse_vkey(vkey)
    if len(public) != 32:
        raise CheckpointError(f"verifier key {name} is not a 32-byte Ed25519 key")
    if sig_type == ED25519:
        return Ed25519Verifier(name, public)
    if sig_type == COSIGNATURE_V1:
        return CosignatureVerifier(name, public)
    raise CheckpointError(f"verifier key {name} has unsupported type {sig_type:#04x}")


def signatures_by(signatures: Sequence[Signature], verifier: NoteVerifier) -> list[Signature]:
    """The signature lines that name this verifier's key (name and key ID both)."""
    return [s for s in signatures if (s.name, s.key_id) == (verifier.name, verifier.key_id)]
