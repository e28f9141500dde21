"""A second, independent reader of the trail as a tiled transparency log, written from the C2SP
specs (signed-note, tlog-checkpoint, tlog-tiles) and RFC 9162 alone. It imports nothing from
`gateway`, so a misreading of a spec in the gateway is not repeated here.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

Fetch = Callable[[str], bytes]  # path under the log's prefix -> body


def open_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """Verify the log's Ed25519 signature on a checkpoint note; (origin, size, root)."""
    name, key_id_hex, material_b64 = vkey.strip().split("+", 2)
    material = base64.b64decode(material_b64)
    assert material[0] == 0x01 and len(material) == 33, "not an Ed25519 vkey"
    public = material[1:]
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
    assert key_id.hex() == key_id_hex, "vkey key ID does not match"
    text, _, signatures = note.rpartition("\n\n")
    text += "\n"
    verified = False
    for line in signatures.rstrip("\n").split("\n"):
        dash, signer, blob_b64 = line.split(" ")
        assert dash == "\u2014"
        blob = base64.b64decode(blob_b64)
        if signer == name and blob[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], text.encode())
            verified = True
    assert verified, "no signature by the log's key"
    origin, size, root, *_extensions = text[:-1].split("\n")
    return origin, int(size), base64.b64decode(root)


def tile_path(level: int | str, index: int, width: int) -> str:
    digits = f"{index:03d}" if index < 1000 else str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    path = "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])
    return f"tile/{level}/{path}" + ("" if width == 256 else f".p/{width}")


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return _node(mth(hashes[:k]), mth(hashes[k:]))


def leaf_hashes(fetch: Fetch, size: int) -> list[bytes]:
    """All leaf hashes from the level-0 tiles; every full level-0 tile is checked against its
    hash in the level-1 tile above it, and every entry bundle against its level-0 tile."""
    leaves: list[bytes] = []
    for index in range((size + 255) // 256):
        width = min(256, size - index * 256)
        tile = fetch(tile_path(0, index, width))
        assert len(tile) == 32 * width, f"tile 0/{index} has {len(tile)} bytes"
        hashes = [tile[i : i + 32] for i in range(0, len(tile), 32)]
        bundle = fetch(tile_path("entries", index, width))
        entries, at = [], 0
        while at < len(bundle):
            (length,) = struct.unpack(">H", bundle[at : at + 2])
            entries.append(bundle[at + 2 : at + 2 + length])
            at += 2 + length
        assert [hashlib.sha256(b"\x00" + e).digest() for e in entries] == hashes, (
            f"entry bundle {index} does not hash to its tile"
        )
        leaves += hashes
    full_level0 = size // 256
    if full_level0:
        width = min(256, full_level0)
        level1 = fetch(tile_path(1, 0, width))
        for i in range(width):
            assert level1[32 * i : 32 * i + 32] == mth(leaves[256 * i : 256 * (i + 1)])
    return leaves


def inclusion_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, lowest sibling first."""
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < k:
        return [*inclusion_path(index, leaves[:k]), mth(leaves[k:])]
    return [*inclusion_path(index - k, leaves[k:]), mth(leaves[:k])]


def root_from_inclusion(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2 verification: the root the path leads to."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        assert sn != 0, "path too long"
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0, "path too short"
    return r
