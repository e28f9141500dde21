"""RFC 9162 §2.1 Merkle trees: published vectors, a naive reference, the O(log n) call budget."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.trail.merkle import (
    EMPTY_ROOT,
    InMemorySubtreeHashes,
    MerkleProofError,
    NodeId,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    perfect_subtrees_completed_by,
    root_of,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parents[2] / "data" / "merkle"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))

# The leaves behind every happy-path vector (transparency-dev/merkle testonly/constants.go).
CONSTANT_LEAVES = [
    leaf_hash(bytes.fromhex(x))
    for x in [
        *("", "00", "10", "2021", "3031", "40414243", "5051525354555657"),
        "606162636465666768696a6b6c6d6e6f",
    ]
]

# Where we are deliberately stricter than the vectors: file -> why it must fail here.
STRICTER_THAN_VECTORS = {
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json": "12 bytes, not 32",
}


def _name(path: Path) -> str:
    return path.relative_to(VECTORS).as_posix()


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text())
    for key in ("root", "root1", "root2", "leafHash"):
        if key in case:
            case[key] = base64.b64decode(case[key])
    case["proof"] = [base64.b64decode(h) for h in case["proof"] or []]
    return case


def _expect(path: Path, verify: Callable[[], None], want_err: bool) -> None:
    if _name(path) in STRICTER_THAN_VECTORS:
        assert not want_err, "the deviation list is stale"
        with pytest.raises(MerkleProofError, match=STRICTER_THAN_VECTORS[_name(path)]):
            verify()
    elif want_err:
        with pytest.raises(MerkleProofError):
            verify()
    else:
        verify()


# --- published vectors ----------------------------------------------------------------------------


def test_every_vector_file_was_found() -> None:
    assert (len(INCLUSION), len(CONSISTENCY)) == (98, 98)
    assert all((VECTORS / n).is_file() for n in STRICTER_THAN_VECTORS)


@pytest.mark.parametrize("path", INCLUSION, ids=_name)
def test_inclusion_vector(path: Path) -> None:
    c = _load(path)
    _expect(
        path,
        lambda: verify_inclusion(c["leafHash"], c["leafIdx"], c["treeSize"], c["proof"], c["root"]),
        c["wantErr"],
    )


@pytest.mark.parametrize("path", CONSISTENCY, ids=_name)
def test_consistency_vector(path: Path) -> None:
    c = _load(path)
    _expect(
        path,
        lambda: verify_consistency(c["size1"], c["size2"], c["root1"], c["root2"], c["proof"]),
        c["wantErr"],
    )


@pytest.mark.parametrize("path", [p for p in INCLUSION + CONSISTENCY if p.stem == "happy-path"])
def test_generated_proofs_equal_the_published_ones(path: Path) -> None:
    store = _store(CONSTANT_LEAVES)
    c = _load(path)
    if "leafIdx" in c:
        assert c["root"] == tree_root(c["treeSize"], store)
        assert inclusion_proof(c["leafIdx"], c["treeSize"], store) == c["proof"]
    else:
        assert c["root2"] == tree_root(c["size2"], store)
        assert consistency_proof(c["size1"], c["size2"], store) == c["proof"]


def test_known_roots() -> None:
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert root_of(CONSTANT_LEAVES).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()


# --- generated proofs against a naive reference (§2.1.3.1, §2.1.4.1) ------------------------------


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def _store(leaves: list[bytes]) -> InMemorySubtreeHashes:
    store = InMemorySubtreeHashes()
    for leaf in leaves:
        store.append(leaf)
    return store


def _flip(proof: list[bytes], i: int) -> list[bytes]:
    return [bytes([h[0] ^ 1]) + h[1:] if j == i else h for j, h in enumerate(proof)]


LEAVES = [leaf_hash(i.to_bytes(2, "big")) for i in range(40)]
STORE = _store(LEAVES)  # one store of 40 leaves answers for every older size too


@pytest.mark.parametrize("n", range(1, 41))
def test_roots_and_inclusion_proofs_up_to_40(n: int) -> None:
    root = root_of(LEAVES[:n])
    assert root == ref_mth(LEAVES[:n]) == tree_root(n, STORE)
    for i in range(n):
        proof = inclusion_proof(i, n, STORE)
        assert proof == ref_path(i, LEAVES[:n])
        verify_inclusion(LEAVES[i], i, n, proof, root)
        for j in range(len(proof)):
            with pytest.raises(MerkleProofError, match="leads to root"):
                verify_inclusion(LEAVES[i], i, n, _flip(proof, j), root)
        with pytest.raises(MerkleProofError):
            verify_inclusion(LEAVES[i], i ^ 1, n, proof, root)
        with pytest.raises(MerkleProofError):
            verify_inclusion(LEAVES[i], i, 2 * n, proof, root)


@pytest.mark.parametrize("n", range(1, 41))
def test_consistency_proofs_up_to_40(n: int) -> None:
    new_root = root_of(LEAVES[:n])
    for m in range(1, n + 1):
        old_root = root_of(LEAVES[:m])
        proof = consistency_proof(m, n, STORE)
        assert proof == ref_subproof(m, LEAVES[:n], True)
        verify_consistency(m, n, old_root, new_root, proof)
        for j in range(len(proof)):
            with pytest.raises(MerkleProofError, match="proof gives"):
                verify_consistency(m, n, old_root, new_root, _flip(proof, j))
        if m < n:
            with pytest.raises(MerkleProofError):
                verify_consistency(m, n, new_root, old_root, proof)
            # a power-of-two old root seeds the path (§2.1.4.2 step 2), so the new root breaks
            with pytest.raises(
                MerkleProofError, match="new root" if m & (m - 1) == 0 else "old root"
            ):
                verify_consistency(m, n, LEAVES[m], new_root, proof)
            with pytest.raises(MerkleProofError):
                verify_consistency(m, n, old_root, new_root, proof[:-1])


def test_failures_name_what_failed() -> None:
    proof = inclusion_proof(3, 8, STORE)
    root = tree_root(8, STORE)
    with pytest.raises(MerkleProofError, match="too many"):
        verify_inclusion(LEAVES[3], 3, 8, [*proof, root], root)
    with pytest.raises(MerkleProofError, match="too few"):
        verify_inclusion(LEAVES[3], 3, 8, proof[:-1], root)
    with pytest.raises(MerkleProofError, match=r"proof hash \[1\] is 31 bytes"):
        verify_inclusion(LEAVES[3], 3, 8, [proof[0], proof[1][:-1], proof[2]], root)
    with pytest.raises(MerkleProofError, match="not in a tree of size 8"):
        verify_inclusion(LEAVES[3], 8, 8, proof, root)
    with pytest.raises(MerkleProofError, match="empty tree is refused"):
        verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(MerkleProofError, match="roots differ at equal size 8"):
        verify_consistency(8, 8, tree_root(7, STORE), root, [])
    with pytest.raises(MerkleProofError, match="consistency proof is empty"):
        verify_consistency(3, 8, tree_root(3, STORE), root, [])
    with pytest.raises(MerkleProofError, match="too many"):
        verify_consistency(3, 8, tree_root(3, STORE), root, [*consistency_proof(3, 8, STORE), root])
    with pytest.raises(MerkleProofError, match="too few"):
        verify_consistency(3, 8, tree_root(3, STORE), root, consistency_proof(3, 8, STORE)[:-1])


def test_generation_refuses_impossible_requests() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(5, 5, STORE)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(0, 5, STORE)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(6, 5, STORE)
    assert consistency_proof(5, 5, STORE) == []


# --- the store ------------------------------------------------------------------------------------


def test_store_serves_only_perfect_aligned_stored_subtrees() -> None:
    assert STORE.subtree(8, 16) == ref_mth(LEAVES[8:16])
    assert STORE.subtree(32, 40) == ref_mth(LEAVES[32:40])
    for start, end in [(1, 3), (0, 3), (4, 4), (0, 64), (40, 41)]:
        with pytest.raises(ValueError, match=r"subtree|beyond"):
            STORE.subtree(start, end)
    with pytest.raises(ValueError, match="31 bytes"):
        InMemorySubtreeHashes().append(b"x" * 31)


def test_perfect_subtrees_completed_by() -> None:
    assert perfect_subtrees_completed_by(0) == [NodeId(0, 0)]
    assert perfect_subtrees_completed_by(6) == [NodeId(0, 6)]
    assert perfect_subtrees_completed_by(11) == [NodeId(0, 11), NodeId(1, 5), NodeId(2, 2)]
    assert [(n.start, n.end) for n in perfect_subtrees_completed_by(15)] == [
        (15, 16),
        (14, 16),
        (12, 16),
        (8, 16),
        (0, 16),
    ]
    # Every stored node is written exactly once, by the leaf that completes it.
    written = [node for i in range(40) for node in perfect_subtrees_completed_by(i)]
    assert len(written) == len(set(written)) == sum(len(level) for level in STORE.levels)


# --- O(log n): count the calls to the port, time nothing ------------------------------------------


class CountingHashes:
    """A virtual tree of any size: any perfect aligned subtree has a made-up hash; calls counted."""

    def __init__(self, size: int) -> None:
        self.size, self.calls = size, 0

    def subtree(self, start: int, end: int) -> bytes:
        width = end - start
        assert width > 0 and width & (width - 1) == 0 and start % width == 0 and end <= self.size
        self.calls += 1
        return hashlib.sha256(f"{start}:{end}".encode()).digest()


def test_proofs_of_a_million_leaves_take_o_log_n_subtree_calls() -> None:
    rng = random.Random(9162)
    sizes = [1_000_000, 2**20 - 1, 2**20, 2**20 + 1, *(rng.randrange(2, 10**6) for _ in range(200))]
    worst = 0
    for n in sizes:
        hashes = CountingHashes(n)
        requests: list[tuple[Callable[..., object], tuple[int, ...]]] = [
            (inclusion_proof, (rng.randrange(n), n)),
            (inclusion_proof, (0, n)),
            (inclusion_proof, (n - 1, n)),
            (consistency_proof, (rng.randrange(1, n), n)),
            (consistency_proof, (1, n)),
            (consistency_proof, (n - 1, n)),
            (tree_root, (n,)),
        ]
        for function, args in requests:
            hashes.calls = 0
            function(*args, hashes)
            assert hashes.calls <= 2 * math.log2(n) + 2, (function.__name__, args)
            worst = max(worst, hashes.calls)
    assert worst > 20  # the wrapper really counted
