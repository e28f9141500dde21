"""Merkle trail figures: append rate into stored subtree hashes, then proof times at random sizes.

Not a test. Run: .venv/bin/python bench/merkle_bench.py [leaves]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable

from gateway.trail.merkle import (
    InMemorySubtreeHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

PROOFS = 1_000


def _report(name: str, times: list[float]) -> None:
    ms = [t * 1000 for t in times]
    p99 = statistics.quantiles(ms, n=100)[98]
    print(f"{name:<20} mean {statistics.fmean(ms):.4f} ms   p99 {p99:.4f} ms   (n={len(ms)})")


def _time(requests: list[tuple[int, int]], prove: Callable[[int, int], list[bytes]]) -> list[float]:
    times = []
    for a, b in requests:
        t0 = time.perf_counter()
        prove(a, b)
        times.append(time.perf_counter() - t0)
    return times


def main(leaves: int = 1_000_000) -> None:
    rng = random.Random(9162)
    data = [leaf_hash(i.to_bytes(8, "big")) for i in range(leaves)]
    store = InMemorySubtreeHashes()

    t0 = time.perf_counter()
    for h in data:
        store.append(h)
    elapsed = time.perf_counter() - t0
    print(f"append               {leaves:,} leaves in {elapsed:.2f} s = {leaves / elapsed:,.0f} /s")

    sizes = [rng.randrange(2, leaves + 1) for _ in range(PROOFS)]
    inclusions = [(rng.randrange(n), n) for n in sizes]
    consistencies = [(rng.randrange(1, n), n) for n in sizes]
    _report("inclusion proof", _time(inclusions, lambda i, n: inclusion_proof(i, n, store)))
    _report("consistency proof", _time(consistencies, lambda m, n: consistency_proof(m, n, store)))

    # Not timed: the figures mean nothing unless the proofs verify.
    for (i, n), (m, _) in zip(inclusions[:50], consistencies[:50], strict=True):
        root = tree_root(n, store)
        verify_inclusion(data[i], i, n, inclusion_proof(i, n, store), root)
        verify_consistency(m, n, tree_root(m, store), root, consistency_proof(m, n, store))
    print("sample of 50 proofs of each kind verified")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
