"""Merkle hash trees for the tamper-evident message trail (RFC 9162 §2.1). Pure: no I/O.

Roots and proofs come from *stored* hashes of perfect aligned subtrees (the `SubtreeHashes` port,
filled as leaves are appended: see `perfect_subtrees_completed_by`), O(log n) of them per call,
never from rehashing the log. Verifiers are stricter than the RFC text, as transparency-dev/merkle
is: every hash must be 32 bytes, and a consistency proof from the empty tree (even 0 -> 0) is
refused because it proves nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = HASH() (§2.1.1)


class MerkleProofError(ValueError):
    """A proof did not verify; the message names the check that failed."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d(0)}) = HASH(0x00 || d(0)) (§2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right), the interior node hash (§2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over already-hashed leaves, straight from the recursive definition (§2.1.1)."""
    if not leaf_hashes:
        return EMPTY_ROOT

    def mth(start: int, end: int) -> bytes:
        if end - start == 1:
            return leaf_hashes[start]
        k = _largest_power_of_two_below(end - start)
        return node_hash(mth(start, start + k), mth(start + k, end))

    return mth(0, len(leaf_hashes))


# --- the storage port -----------------------------------------------------------------------------


class SubtreeHashes(Protocol):
    """Read access to stored hashes of perfect, aligned subtrees."""

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(leaves[start:end]); asked only when end-start = 2^h and 2^h divides start."""
        ...


@dataclass(frozen=True, slots=True)
class NodeId:
    """A perfect subtree: the `index`-th node of height `level` covers leaves [start, end)."""

    level: int
    index: int

    @property
    def start(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


def perfect_subtrees_completed_by(index: int) -> list[NodeId]:
    """The perfect subtrees whose last leaf is leaf `index`, lowest first, leaf itself included.

    These are exactly the (level, index) hashes a store must write when leaf `index` is appended;
    each is `node_hash` of its two children at the level below, both already stored.
    """
    if index < 0:
        raise ValueError(f"leaf index {index} is negative")
    nodes = [NodeId(0, index)]
    while index & 1:  # a right child completes its parent
        index >>= 1
        nodes.append(NodeId(len(nodes), index))
    return nodes


class InMemorySubtreeHashes:
    """Every perfect subtree hash, one list per level: `levels[h][i]` covers [i*2^h, (i+1)*2^h)."""

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    def __len__(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash; writes the O(log n) subtree hashes it completes (amortised O(1))."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash is {len(leaf)} bytes, not {HASH_SIZE}")
        levels = self.levels
        levels[0].append(leaf)
        for node in perfect_subtrees_completed_by(len(levels[0]) - 1)[1:]:
            if node.level == len(levels):
                levels.append([])
            below = levels[node.level - 1]
            levels[node.level].append(node_hash(below[2 * node.index], below[2 * node.index + 1]))

    def subtree(self, start: int, end: int) -> bytes:
        width = end - start
        if width <= 0 or width & (width - 1) or start % width:
            raise ValueError(f"[{start}, {end}) is not a perfect aligned subtree")
        if end > len(self):
            raise ValueError(f"[{start}, {end}) is beyond the {len(self)} stored leaves")
        level = width.bit_length() - 1
        return self.levels[level][start >> level]


# --- roots and proofs from stored subtrees --------------------------------------------------------


def tree_root(size: int, hashes: SubtreeHashes) -> bytes:
    """MTH(D[size]) from the popcount(size) perfect subtrees of its binary decomposition."""
    if size < 0:
        raise ValueError(f"tree size {size} is negative")
    return _range_hash(0, size, hashes) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, hashes: SubtreeHashes) -> list[bytes]:
    """PATH(index, D[size]) (§2.1.3.1), lowest sibling first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    siblings: list[bytes] = []  # top-down; the RFC lists them bottom-up
    start, end = 0, size
    while end - start > 1:
        # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])  if m < k
        #               = PATH(m-k, D[k:n]) : MTH(D[0:k])  otherwise
        mid = start + _largest_power_of_two_below(end - start)
        if index < mid:
            siblings.append(_range_hash(mid, end, hashes))
            end = mid
        else:
            siblings.append(hashes.subtree(start, mid))
            start = mid
    siblings.reverse()
    return siblings


def consistency_proof(old_size: int, new_size: int, hashes: SubtreeHashes) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (§2.1.4.1); empty when m = n."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    tail: list[bytes] = []  # top-down; each recursion level appends its node after the sub-proof
    start, end, whole = 0, new_size, True
    while old_size != end:
        # SUBPROOF(m, D[n], b): m <= k -> SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
        #                       m >  k -> SUBPROOF(m-k, D[k:n], false) : MTH(D[0:k])
        mid = start + _largest_power_of_two_below(end - start)
        if old_size <= mid:
            tail.append(_range_hash(mid, end, hashes))
            end = mid
        else:
            tail.append(hashes.subtree(start, mid))
            start, whole = mid, False
    # SUBPROOF(m, D[m], true) = {} and SUBPROOF(m, D[m], false) = {MTH(D[m])}; here D[start:end]
    # is perfect, since reaching end = m < n took at least one step to the left.
    head = [] if whole else [hashes.subtree(start, end)]
    return head + tail[::-1]


# --- verification ---------------------------------------------------------------------------------


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf_hash` is leaf `index` of the tree of `size` with `root` (§2.1.3.2)."""
    # Step 0 (policy): every hash is a SHA-256 output.
    _check_hashes(proof, {"leaf hash": leaf_hash, "root": root})
    # Step 1: the leaf index must lie inside the tree.
    if not 0 <= index < size:
        raise MerkleProofError(f"leaf index {index} is not in a tree of size {size}")
    # Steps 2-4: chain the path upwards; fn tracks our node, sn the tree's last node.
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise MerkleProofError(f"inclusion proof has {len(proof)} hashes: too many")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_while_even(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    # Step 5: the path must end at the root, and the root must match.
    if sn != 0:
        raise MerkleProofError(f"inclusion proof has {len(proof)} hashes: too few")
    if r != root:
        raise MerkleProofError(f"inclusion proof leads to root {r.hex()}, not {root.hex()}")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that tree `new_size` with `new_root` extends tree `old_size` (§2.1.4.2)."""
    # Step 0 (policy): hashes are SHA-256 outputs; sizes are ordered; size 0 proves nothing.
    _check_hashes(proof, {"old root": old_root, "new root": new_root})
    if not 0 <= old_size <= new_size:
        raise MerkleProofError(f"tree size {old_size} cannot grow into tree size {new_size}")
    if old_size == 0:
        raise MerkleProofError("a consistency proof from the empty tree is refused")
    if old_size == new_size:  # outside §2.1.4.2 (0 < first < second): nothing to prove but equality
        if proof:
            raise MerkleProofError(f"sizes are equal but the proof has {len(proof)} hashes")
        if old_root != new_root:
            raise MerkleProofError(f"roots differ at equal size {old_size}")
        return
    # Step 1: an empty proof fails.
    if not proof:
        raise MerkleProofError("consistency proof is empty")
    # Step 2: if first is a power of two, its root is the first node of the path.
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    # Steps 3-4: fn tracks the old tree's last node, sn the new tree's; skip levels where the
    # old last node is a right child, since the proof starts above them.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    # Steps 5-6: rebuild both roots from the same path.
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise MerkleProofError(f"consistency proof has {len(proof)} hashes: too many")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_while_even(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    # Step 7: both roots must match and the path must have reached the top.
    if sn != 0:
        raise MerkleProofError(f"consistency proof has {len(proof)} hashes: too few")
    if fr != old_root:
        raise MerkleProofError(f"proof gives old root {fr.hex()}, not {old_root.hex()}")
    if sr != new_root:
        raise MerkleProofError(f"proof gives new root {sr.hex()}, not {new_root.hex()}")


# --- helpers --------------------------------------------------------------------------------------


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k, for n > 1 (the split point of §2.1.1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_hash(start: int, end: int, hashes: SubtreeHashes) -> bytes:
    """MTH(D[start:end]) for a range whose start is aligned to a power of two >= its width.

    Such a range (every node of the §2.1.1 recursion is one) splits into the perfect subtrees of
    its width's binary decomposition, largest first; MTH folds them from the right.
    """
    pieces: list[bytes] = []
    width = end - start
    while width:
        size = 1 << (width.bit_length() - 1)
        pieces.append(hashes.subtree(start, start + size))
        start, width = start + size, width - size
    acc = pieces.pop()
    while pieces:
        acc = node_hash(pieces.pop(), acc)
    return acc


def _shift_while_even(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift both until LSB(fn) is set or fn is 0 (§2.1.3.2 step 4b, §2.1.4.2 step 6)."""
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def _check_hashes(proof: Sequence[bytes], named: dict[str, bytes]) -> None:
    named.update((f"proof hash [{i}]", h) for i, h in enumerate(proof))
    for what, value in named.items():
        if len(value) != HASH_SIZE:
            raise MerkleProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")
