"""The pure check a checkpoint signer (or a future integrator) runs before signing a new tree."""

from __future__ import annotations

import pytest

from gateway.trail.consistency import (
    InconsistentTree,
    SignedTree,
    check_extends,
    frontier,
    frontier_ranges,
)
from gateway.trail.merkle import InMemorySubtreeHashes, leaf_hash, tree_root


def _log(entries: list[bytes]) -> InMemorySubtreeHashes:
    store = InMemorySubtreeHashes()
    for entry in entries:
        store.append(leaf_hash(entry))
    return store


def _signed(store: InMemorySubtreeHashes, size: int) -> SignedTree:
    return SignedTree(size, tree_root(size, store), frontier(size, store))


ENTRIES = [b"entry %d" % i for i in range(40)]


def test_frontier_ranges_are_the_binary_decomposition() -> None:
    assert frontier_ranges(0) == []
    assert frontier_ranges(21) == [(0, 16), (16, 20), (20, 21)]


@pytest.mark.parametrize(("old", "new"), [(1, 1), (1, 2), (7, 8), (8, 8), (13, 40), (21, 22)])
def test_a_grown_log_extends_what_was_signed(old: int, new: int) -> None:
    store = _log(ENTRIES[:new])
    check_extends(_signed(store, old), new, tree_root(new, store), store)
    check_extends(None, new, tree_root(new, store), store)


def test_a_smaller_log_is_refused() -> None:
    store = _log(ENTRIES[:21])
    with pytest.raises(InconsistentTree, match="20 entries, fewer than the 21") as caught:
        check_extends(_signed(store, 21), 20, tree_root(20, store), store)
    assert caught.value.first_bad_size == 21


@pytest.mark.parametrize(("edited", "consistent_up_to"), [(3, 0), (17, 16), (20, 20)])
def test_an_edited_entry_is_located_in_the_signed_tree(edited: int, consistent_up_to: int) -> None:
    signed = _signed(_log(ENTRIES[:21]), 21)
    forged = list(ENTRIES[:30])
    forged[edited] = b"rewritten"
    store = _log(forged)  # every node recomputed, as a careful attacker would
    with pytest.raises(InconsistentTree, match=f"consistent up to size {consistent_up_to} only"):
        check_extends(signed, 30, tree_root(30, store), store)


def test_a_root_not_from_the_stored_hashes_is_refused() -> None:
    store = _log(ENTRIES[:30])
    with pytest.raises(InconsistentTree, match="no consistency proof"):
        check_extends(_signed(store, 21), 30, bytes(32), store)
    with pytest.raises(InconsistentTree, match="roots differ"):
        check_extends(_signed(store, 21), 21, bytes(32), store)
