"""The log as static tiles (c2sp.org/tlog-tiles). Pure: hashes come through the `SubtreeHashes` port.

The n-th tile at level l holds, for i in 0..255, MTH(D[(n·256 + i)·256^l : (n·256 + i + 1)·256^l]):
the roots of 256 perfect subtrees of height 8·l, which are exactly the stored hashes at tree level
8·l. A full tile is 256 hashes (8,192 bytes); the rightmost tile of a level may be partial, served as
`.p/<W>` with W = floor(size / 256^l) mod 256. Entry bundles hold the leaf inputs of a level-0 tile,
each prefixed by its length as a big-endian uint16.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.trail.merkle import HASH_SIZE, SubtreeHashes

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF  # an entry's length must fit the uint16 prefix
_PATH = re.compile(
    r"^tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})(?:\.p/(?P<width>[1-9][0-9]{0,2}))?$"
)


class TileError(ValueError):
    """A tile path or tile content is not what the spec allows."""


@dataclass(frozen=True, order=True)
class TileId:
    """A tile (level ≥ 0) or entry bundle (`entries`, level 0 hashes' leaves) of `width` items."""

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_LEVEL or self.index < 0:
            raise TileError(f"no tile at level {self.level}, index {self.index}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise TileError(f"tile width {self.width} is not 1..{TILE_WIDTH}")
        if self.entries and self.level != 0:
            raise TileError("entry bundles belong to level 0")

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def path(self) -> str:
        """`tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` (tlog-tiles § Merkle Tree)."""
        level = "entries" if self.entries else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{level}/{index_path(self.index)}{suffix}"

    def leaf_range(self, i: int) -> tuple[int, int]:
        """The leaves [start, end) whose root is hash `i` of this tile."""
        span = 1 << (TILE_HEIGHT * self.level)
        first = self.index * TILE_WIDTH + i
        return first * span, (first + 1) * span


def index_path(index: int) -> str:
    """Zero-padded 3-digit path elements, all but the last prefixed `x`: 1234067 → x001/x234/067."""
    if index < 0:
        raise TileError(f"tile index {index} is negative")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if not index:
            break
    groups.reverse()
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def parse_tile_path(path: str) -> TileId:
    """The tile a request path names; `TileError` for anything the spec does not allow."""
    match = _PATH.match(path)
    if match is None:
        raise TileError(f"not a tile path: {path[:80]!r}")
    level = match["level"]
    index = int(match["index"].replace("x", "").replace("/", ""))
    width = int(match["width"]) if match["width"] else TILE_WIDTH
    if width == TILE_WIDTH and match["width"]:
        raise TileError("a partial tile has fewer than 256 hashes")
    if level == "entries":
        return TileId(0, index, width, entries=True)
    return TileId(int(level), index, width)


def tiles_for_size(size: int) -> list[TileId]:
    """Every hash tile (full and the rightmost partial, per level) of the tree of `size`."""
    tiles: list[TileId] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        hashes_at_level = size >> (TILE_HEIGHT * level)  # complete subtrees of height 8·level
        full, partial = divmod(hashes_at_level, TILE_WIDTH)
        tiles += [TileId(level, n) for n in range(full)]
        if partial:
            tiles.append(TileId(level, full, partial))
        level += 1
    return tiles


def bundles_for_size(size: int) -> list[TileId]:
    """Every entry bundle of the tree of `size`: one per level-0 tile."""
    return [TileId(0, t.index, t.width, entries=True) for t in tiles_for_size(size) if not t.level]


def tile_in_tree(tile: TileId, size: int) -> bool:
    """Whether the tree of `size` holds this tile's hashes. A partial tile narrower than what the
    tree now holds is still the same prefix of hashes, so it stays servable (and immutable)."""
    available = (size >> (TILE_HEIGHT * tile.level)) - tile.index * TILE_WIDTH
    return available >= tile.width


def tile_hashes(tile: TileId, hashes: SubtreeHashes) -> bytes:
    """The tile's content: `width` concatenated 32-byte subtree hashes."""
    return b"".join(hashes.subtree(*tile.leaf_range(i)) for i in range(tile.width))


def split_tile(data: bytes, width: int) -> list[bytes]:
    if len(data) != width * HASH_SIZE:
        raise TileError(f"tile is {len(data)} bytes, not {width} hashes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries each prefixed with a big-endian uint16 length (tlog-tiles § Log entries)."""
    parts = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise TileError(f"an entry of {len(entry)} bytes does not fit an entry bundle")
        parts.append(struct.pack(">H", len(entry)) + entry)
    return b"".join(parts)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    entries, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise TileError("entry bundle ends inside a length prefix")
        (length,) = struct.unpack(">H", data[at : at + 2])
        if at + 2 + length > len(data):
            raise TileError("entry bundle ends inside an entry")
        entries.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    return entries
