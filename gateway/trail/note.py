"""C2SP signed notes (c2sp.org/signed-note): text signed by one or more keys. Pure: no I/O.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
`— <key name> base64(key ID ‖ signature)`. A key is named by (key name, 4-byte key ID); verifiers
ignore signatures from keys they do not know, must verify those they do, and reject the note when
none of theirs verifies. Only Ed25519 (signature type 0x01) is implemented here; the timestamped
cosignatures of c2sp.org/tlog-cosignature (type 0x04) are in `gateway.trail.checkpoint`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01  # signature type byte (signed-note § Signature types)
DASH = "\u2014"  # em dash that starts each signature line
MAX_SIGNATURES = 64  # the spec asks verifiers to accept at least 16
MAX_NOTE_BYTES = 1 << 20


class NoteError(ValueError):
    """A note is malformed, or no trusted signature verifies; the message says which."""


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(key name ‖ 0x0A ‖ signature type ‖ public key)[:4] (signed-note § Signatures)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def check_key_name(name: str) -> str:
    """Key names are non-empty with no Unicode spaces and no '+' (signed-note § Format)."""
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"key name {name!r} is empty or holds a space or '+'")
    return name


def b64decode(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 §4), strictly: no other alphabet, no missing padding."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise NoteError(f"{what} is not base64: {text[:40]!r}") from exc


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Signature:
    """One signature line: the signer's key name, its key ID, and the signature proper."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{DASH} {self.name} {b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """A parsed, *unverified* note: only `verify_note`'s answer may be trusted."""

    text: str  # including its final newline
    signatures: tuple[Signature, ...]

    def encode(self) -> bytes:
        return format_note(self.text, self.signatures).encode("utf-8")


class NoteVerifier(Protocol):
    """A trusted key: its name and ID pick the signature lines it checks."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: str, signature: bytes) -> bool: ...


def format_note(text: str, signatures: Iterable[Signature]) -> str:
    _check_text(text)
    return text + "\n" + "".join(s.line() for s in signatures)


def parse_note(data: bytes | str) -> Note:
    """Split a note into text and signature lines, enforcing the format (signed-note § Format)."""
    # Step 1: UTF-8, bounded, no control characters but newline.
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError(f"note is {len(data)} bytes, more than {MAX_NOTE_BYTES}")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("note is not UTF-8") from exc
    if any(ord(c) < 0x20 and c != "\n" for c in data):
        raise NoteError("note holds a control character other than newline")
    # Step 2: the text ends at the last blank line; the signature block follows it.
    cut = data.rfind("\n\n")
    if cut < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = data[: cut + 1], data[cut + 2 :]
    if not block.endswith("\n"):
        raise NoteError("note does not end with a newline")
    # Step 3: each line is `— <name> <base64 of key ID ‖ signature>`.
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    return Note(text, tuple(parse_signature_line(line) for line in lines))


def parse_signature_line(line: str) -> Signature:
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != DASH:
        raise NoteError(f"malformed signature line {line[:60]!r}")
    raw = b64decode(parts[2], "signature")
    if len(raw) < 5:
        raise NoteError(f"signature by {parts[1]!r} is too short")
    return Signature(check_key_name(parts[1]), raw[:4], raw[4:])


def verify_note(data: bytes | str, verifiers: Sequence[NoteVerifier]) -> tuple[Note, Note]:
    """Parse `data` and check its signatures against the trusted `verifiers`.

    Returns (note, verified): `verified` holds only the signatures that verified. Signatures from
    unknown keys are ignored; one from a known key that fails rejects the whole note; a note with no
    verified signature is rejected (signed-note § Signatures).
    """
    note = parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    good: list[Signature] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(note.text, sig.signature):
            raise NoteError(f"the signature by {sig.name} ({sig.key_id.hex()}) does not verify")
        good.append(sig)
    if not good:
        raise NoteError("no signature by a trusted key")
    return note, Note(note.text, tuple(good))


@dataclass(frozen=True)
class Ed25519Verifier:
    """A signed-note Ed25519 verifier key (signature type 0x01)."""

    name: str
    public_key: bytes  # 32 bytes, RFC 8032 encoding

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, ED25519, self.public_key)

    @property
    def vkey(self) -> str:
        """`<name>+<hex key ID>+<base64(0x01 ‖ public key)>` (signed-note § Verifier keys)."""
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([ED25519]) + self.public_key)}"

    def verify(self, text: str, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text.encode())
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Ed25519Signer:
    """Signs note text with an Ed25519 key under a key name."""

    name: str
    key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.name, self.key.public_key().public_bytes_raw())

    def sign(self, text: str) -> Signature:
        _check_text(text)
        return Signature(self.name, self.verifier.key_id, self.key.sign(text.encode()))


def parse_vkey(vkey: str) -> tuple[str, bytes, int, bytes]:
    """(name, key ID, signature type, public key) of a vkey, with its key ID checked."""
    parts = vkey.strip().split("+", 2)  # the base64 part may itself hold '+'
    if len(parts) != 3 or len(parts[1]) != 8:
        raise NoteError(f"malformed verifier key {vkey[:60]!r}")
    name = check_key_name(parts[0])
    try:
        kid = bytes.fromhex(parts[1])
    except ValueError as exc:
        raise NoteError(f"verifier key ID {parts[1]!r} is not hex") from exc
    material = b64decode(parts[2], "verifier key")
    if len(material) < 2:
        raise NoteError("verifier key has no public key")
    sig_type, public = material[0], material[1:]
    if key_id(name, sig_type, public) != kid:
        raise NoteError(f"verifier key {name}: key ID {parts[1]} does not match its key")
    return name, kid, sig_type, public


def ed25519_verifier_from_vkey(vkey: str) -> Ed25519Verifier:
    name, _kid, sig_type, public = parse_vkey(vkey)
    if sig_type != ED25519 or len(public) != 32:
        raise NoteError(f"verifier key {name} is not an Ed25519 note key (type {sig_type:#04x})")
    return Ed25519Verifier(name, public)


def _check_text(text: str) -> None:
    if not text.endswith("\n") or any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must end in a newline and hold no other control characters")
