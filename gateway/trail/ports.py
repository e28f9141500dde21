"""What the trail's services need from storage: a view of the log inside one transaction.

`Auditor` (gateway/trail/audit.py) reads sizes, tree heads, checkpoints, entries and stored subtree
hashes through a `TrailView`, opened by `Trail.writing()` (a transaction that may append) or
`Trail.reading()` (a snapshot that takes no write lock on SQLite). Stored subtree hashes never
change once written, so a snapshot's proof is final. An append only queues a message; it has a seq
(and a proof) once `Trail.integrate` has sequenced it. The implementation is
gateway/storage/trail.py; no SQL or session reaches the services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, TypeVar

from gateway.trail.format import TreeHead
from gateway.trail.merkle import SubtreeHashes
from gateway.trail.messages import Message

T = TypeVar("T")


@dataclass(frozen=True)
class TrailEntry:
    """One stored message with its place in the log (None: queued, not yet integrated)."""

    seq: int | None
    entry: bytes  # the leaf input (gateway.trail.format.entry_bytes) once `seq` is set
    application_id: str | None
    case_id: str | None
    kind: str
    direction: str
    counterpart: str
    content_type: str
    body: bytes
    sha256: str
    signer: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class StoredCheckpoint:
    """A published C2SP checkpoint note with the cosignatures gathered for it."""

    size: int
    root: bytes
    note: str
    signed_at: str


class LoadableHashes(SubtreeHashes, Protocol):
    """Stored subtree hashes that can be fetched ahead for many ranges in one round trip."""

    def load(self, ranges: list[tuple[int, int]]) -> None: ...


class TrailView(Protocol):
    """The log as one transaction sees it."""

    def log_size(self) -> int: ...

    def latest_tree_head(self) -> TreeHead | None: ...

    def tree_head_at(self, size: int) -> TreeHead | None: ...

    def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None: ...

    def hashes(self) -> LoadableHashes:
        """The stored subtree hashes, fetched as they are asked for (or `load`ed ahead)."""
        ...

    def prefetched(
        self, computations: Iterable[Callable[[SubtreeHashes], object]]
    ) -> SubtreeHashes:
        """Stored hashes holding every subtree these computations ask for, in one round trip."""
        ...

    def with_stored_hashes(self, compute: Callable[[SubtreeHashes], T]) -> T: ...

    def entries_between(self, start: int, end: int) -> list[bytes]:
        """The leaf inputs of entries [start, end); LookupError if any is missing."""
        ...

    def entries_of(self, application_id: str) -> list[TrailEntry]:
        """An application's entries in log order."""
        ...

    def append(self, application_id: str | None, message: Message) -> int:
        """The trail's one append, in this view's transaction: the message is queued for the
        integrator. Returns its insertion id (see `seq_of`)."""
        ...

    def seq_of(self, message_id: int) -> int | None:
        """The seq of the message `append` returned `message_id` for (None: not integrated)."""
        ...


class Trail(Protocol):
    def integrate(self, wait: bool = True, max_batches: int | None = None) -> int:
        """Sequence the queued messages (the integrator's work; any process may do it, one at a
        time). `wait`: queue behind a running integrator rather than leave it the work;
        `max_batches`: stop after so many transactions (the rest is left queued, and the commit
        wakes the loop for it). Returns how many were sequenced."""
        ...

    def proof(self, size: int, compute: Callable[[SubtreeHashes], T]) -> T | None:
        """`compute` — a root or proof over the first `size` entries (size >= 1) — on the
        stored subtree hashes, read in one round trip that takes no lock and no transaction of
        two statements; None when the log has fewer than `size` entries."""
        ...

    def writing(self) -> AbstractContextManager[TrailView]:
        """One transaction that may append."""
        ...

    def reading(self) -> AbstractContextManager[TrailView]:
        """A transaction that only reads (no write lock on SQLite)."""
        ...

    def store_signed(self, head: TreeHead, checkpoint: StoredCheckpoint | None) -> TreeHead:
        """Keep a signed tree head and the published checkpoint of the same tree (if any), in
        one transaction; of each, one of that size stored first stands (the same tree). Returns
        the head that stands."""
        ...
