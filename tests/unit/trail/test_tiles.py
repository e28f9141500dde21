"""tlog-tiles: paths, which tiles a tree has, their contents and entry bundles."""

from __future__ import annotations

import hashlib

import pytest

from gateway.trail.merkle import InMemorySubtreeHashes
from gateway.trail.tiles import (
    TileError,
    TileId,
    bundles_for_size,
    entry_bundle,
    index_path,
    parse_entry_bundle,
    parse_tile_path,
    split_tile,
    tile_hashes,
    tile_in_tree,
    tiles_for_size,
)


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH over leaf hashes, written out again here so the test checks the code."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


@pytest.mark.parametrize(
    ("index", "path"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_paths_follow_the_spec_example(index: int, path: str) -> None:
    assert index_path(index) == path


def test_tile_paths_parse_and_print() -> None:
    assert TileId(0, 1234067).path == "tile/0/x001/x234/067"
    assert TileId(2, 5, 17).path == "tile/2/005.p/17"
    assert TileId(0, 3, 9, entries=True).path == "tile/entries/003.p/9"
    for tile in (TileId(0, 1234067), TileId(2, 5, 17), TileId(0, 3, 9, entries=True)):
        assert parse_tile_path(tile.path) == tile


@pytest.mark.parametrize(
    "path",
    ["tile/0/1", "tile/0/x1/000", "tile/01/000", "tile/0/000.p/0", "tile/0/000.p/256",
     "tile/0/000.p/012", "tile/64/000", "tile/entries/x000", "tile/0/000/", "tile/0/../000"],
)  # fmt: skip
def test_paths_the_spec_does_not_allow_are_refused(path: str) -> None:
    with pytest.raises(TileError):
        parse_tile_path(path)


def test_the_tiles_of_a_tree_of_70000_are_those_the_spec_lists() -> None:
    tiles = tiles_for_size(70000)
    level0 = [t for t in tiles if t.level == 0]
    assert sum(t.full for t in level0) == 273
    assert [t.width for t in level0 if not t.full] == [112]
    assert [(t.level, t.index, t.width) for t in tiles if t.level] == [
        (1, 0, 256),
        (1, 1, 17),
        (2, 0, 1),
    ]
    assert tiles_for_size(256) == [TileId(0, 0), TileId(1, 0, 1)]
    assert tiles_for_size(0) == []
    assert bundles_for_size(300) == [TileId(0, 0, entries=True), TileId(0, 1, 44, entries=True)]
    assert tile_in_tree(TileId(0, 1, 44), 300) and not tile_in_tree(TileId(0, 1, 45), 300)
    assert tile_in_tree(TileId(0, 1, 43), 300)  # an older checkpoint's partial tile
    assert tile_in_tree(TileId(0, 0), 300) and not tile_in_tree(TileId(0, 1), 300)


def test_tile_contents_are_the_hashes_at_level_8l() -> None:
    size = 256 * 3 + 5
    leaves = [_leaf(f"entry {i}".encode()) for i in range(size)]
    store = InMemorySubtreeHashes()
    for leaf in leaves:
        store.append(leaf)
    assert split_tile(tile_hashes(TileId(0, 1), store), 256) == leaves[256:512]
    assert split_tile(tile_hashes(TileId(0, 3, 5), store), 5) == leaves[768:]
    # A level-1 hash is the root of the full level-0 tile below it.
    level1 = split_tile(tile_hashes(TileId(1, 0, 3), store), 3)
    assert level1 == [_mth(leaves[i * 256 : (i + 1) * 256]) for i in range(3)]


def test_entry_bundles_prefix_each_entry_with_its_uint16_length() -> None:
    bundle = entry_bundle([b"ab", b"", b"x" * 300])
    assert bundle == b"\x00\x02ab\x00\x00\x01\x2c" + b"x" * 300
    assert parse_entry_bundle(bundle) == [b"ab", b"", b"x" * 300]
    with pytest.raises(TileError, match="does not fit"):
        entry_bundle([b"x" * 65536])
    with pytest.raises(TileError, match="inside an entry"):
        parse_entry_bundle(b"\x00\x05ab")
