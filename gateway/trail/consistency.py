"""Does a new tree extend the last one the log signed? Pure: stored hashes through `SubtreeHashes`.

tlog-checkpoint § Signatures: "A log MUST not sign any checkpoint which is inconsistent with any
checkpoint it previously signed." The signer keeps its last checkpoint and the frontier of that
tree (the roots of the perfect subtrees its size decomposes into: at most 63 hashes), so when the
stored hashes no longer agree with it, it can say where: the first frontier subtree that differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.trail.merkle import (
    MerkleProofError,
    SubtreeHashes,
    consistency_proof,
    verify_consistency,
)


class InconsistentTree(ValueError):
    """The new tree does not extend the signed one; `consistent_up_to` is the largest size at which
    the stored log is known to agree with it, `first_bad_size` the first at which it does not
    (or the signed size itself, when the range cannot be narrowed)."""

    def __init__(self, message: str, consistent_up_to: int, first_bad_size: int) -> None:
        super().__init__(message)
        self.consistent_up_to = consistent_up_to
        self.first_bad_size = first_bad_size


@dataclass(frozen=True)
class SignedTree:
    size: int
    root: bytes
    frontier: tuple[bytes, ...]  # roots of frontier_ranges(size), left to right


def frontier_ranges(size: int) -> list[tuple[int, int]]:
    """The perfect aligned subtrees [start, end) of the tree of `size`, largest (leftmost) first."""
    ranges, start = [], 0
    for bit in reversed(range(size.bit_length())):
        if size >> bit & 1:
            ranges.append((start, start + (1 << bit)))
            start += 1 << bit
    return ranges


def frontier(size: int, hashes: SubtreeHashes) -> tuple[bytes, ...]:
    return tuple(hashes.subtree(start, end) for start, end in frontier_ranges(size))


def check_extends(last: SignedTree | None, size: int, root: bytes, hashes: SubtreeHashes) -> None:
    """Raise `InconsistentTree` unless the tree of `size` with `root`, as stored in `hashes`,
    extends `last` (nothing signed yet: any tree does)."""
    # Step 1: the first checkpoint needs no proof.
    if last is None or last.size == 0:
        return
    # Step 2: a log only grows.
    if size < last.size:
        raise InconsistentTree(
            f"the log has {size} entries, fewer than the {last.size} of the checkpoint "
            "it signed last: entries were removed",
            consistent_up_to=size,
            first_bad_size=size + 1,
        )
    # Step 3: the stored subtrees under the signed tree must be those it was signed over.
    stored = _stored_frontier(last.size, hashes)
    for (start, end), then, now in zip(
        frontier_ranges(last.size), last.frontier, stored, strict=True
    ):
        if then != now:
            raise InconsistentTree(
                f"the stored log differs from the checkpoint of size {last.size} it signed last, "
                f"within entries {start}..{end - 1}: consistent up to size {start} only",
                consistent_up_to=start,
                first_bad_size=start + 1,
            )
    # Step 4: a consistency proof from the signed tree to the new one verifies (RFC 9162 §2.1.4).
    try:
        if size == last.size:
            if root != last.root:
                raise MerkleProofError(f"roots differ at equal size {size}")
        else:
            proof = consistency_proof(last.size, size, hashes)
            verify_consistency(last.size, size, last.root, root, proof)
    except (MerkleProofError, LookupError) as exc:
        raise InconsistentTree(
            f"no consistency proof from the checkpoint of size {last.size} it signed last to "
            f"size {size}: {exc}",
            consistent_up_to=0,
            first_bad_size=last.size,
        ) from exc


def _stored_frontier(size: int, hashes: SubtreeHashes) -> Sequence[bytes | None]:
    found: list[bytes | None] = []
    for start, end in frontier_ranges(size):
        try:
            found.append(hashes.subtree(start, end))
        except LookupError:  # a deleted node row is a difference too
            found.append(None)
    return found
