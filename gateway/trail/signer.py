"""The log's checkpoint signer, which never signs a tree inconsistent with the last one it signed.

Its memory is a small JSON state file beside the key (NSW_LOG_STATE), not the database: whoever can
rewrite the database (edit a message, recompute the nodes, delete the tree heads) must not thereby
make the signer forget what it signed. The file is replaced atomically (temp file, fsync, rename)
and guarded by an exclusive lock, so signers on one machine take turns. After a refusal the file
says so, and every later request is refused too — across restarts — until an operator resets it
(`nsw audit signer-reset --i-have-investigated`).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from gateway.clock import Clock, iso
from gateway.errors import GatewayError
from gateway.i18n.text import Text
from gateway.trail.checkpoint import Checkpoint
from gateway.trail.consistency import InconsistentTree, SignedTree, check_extends, frontier
from gateway.trail.merkle import SubtreeHashes
from gateway.trail.note import Ed25519Signer, format_note

log = logging.getLogger(__name__)
STATE_VERSION = 1


class SignerRefusing(GatewayError):
    code, status, title = (
        "trail-signer-refusing",
        503,
        "The trail's signer refuses to sign a tree inconsistent with its last checkpoint",
    )


@dataclass(frozen=True)
class SignerState:
    """What the state file holds. `refusing` is empty while the signer signs."""

    origin: str
    size: int
    root: str  # base64
    frontier: tuple[str, ...]  # base64 roots of the perfect subtrees of `size`
    checkpoint: str  # the last signed note
    signed_at: str
    refusing: str = ""
    refusing_since: str = ""

    def tree(self) -> SignedTree:
        return SignedTree(
            self.size,
            base64.b64decode(self.root),
            tuple(base64.b64decode(h) for h in self.frontier),
        )


class LogSigner:
    def __init__(self, signer: Ed25519Signer, state_path: Path, clock: Clock) -> None:
        self.signer = signer
        self.state_path = Path(state_path)
        self.clock = clock

    @property
    def origin(self) -> str:
        return self.signer.name

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the signer's lock: read the log's size *inside* it, so no other signer on this
        machine can have signed a larger tree between that read and our check."""
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.state_path.with_name(self.state_path.name + ".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def state(self) -> SignerState | None:
        try:
            raw: dict[str, Any] = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        if raw.get("origin") != self.origin:
            # Another log's memory: signing on from it would prove nothing.
            raise SignerRefusing(
                Text(
                    "The signer state %(state_path)s belongs to log %(found)r, not %(origin)r.",
                    state_path=self.state_path,
                    found=raw.get("origin"),
                    origin=self.origin,
                )
            )
        raw.pop("version", None)
        raw["frontier"] = tuple(raw["frontier"])
        return SignerState(**raw)

    def refusal(self) -> str:
        """Why the signer refuses ('' while it signs); what /readyz and the gauge report."""
        try:
            state = self.state()
        except (GatewayError, ValueError, TypeError, KeyError) as exc:
            return f"unreadable signer state: {exc}"
        return state.refusing if state else ""

    def sign(self, size: int, root: bytes, hashes: SubtreeHashes) -> str:
        """The signed checkpoint note for the tree of `size` with `root`, whose stored subtree
        hashes are `hashes`; `SignerRefusing` if it does not extend the last signed tree. Call
        with `locked()` held."""
        # Step 1: a signer that refused once keeps refusing until an operator resets it.
        last = self.state()
        if last is not None and last.refusing:
            raise SignerRefusing(
                Text(
                    "Refusing since %(refusing_since)s: %(refusing)s",
                    refusing_since=last.refusing_since,
                    refusing=last.refusing,
                )
            )
        # Step 2: the new tree extends the last signed one (tlog-checkpoint § Signatures).
        try:
            check_extends(last.tree() if last else None, size, root, hashes)
        except InconsistentTree as exc:
            reason = str(exc)
            log.error("trail signer refuses to sign size %d: %s", size, reason)
            assert last is not None
            self._write(replace(last, refusing=reason, refusing_since=iso(self.clock())))
            raise SignerRefusing(reason, first_bad_size=exc.first_bad_size) from exc
        # Step 3: sign, and remember what was signed before anyone sees it.
        body = Checkpoint(self.origin, size, root).body()
        note = format_note(body, [self.signer.sign(body)])
        self._write(
            SignerState(
                origin=self.origin,
                size=size,
                root=base64.b64encode(root).decode("ascii"),
                frontier=tuple(base64.b64encode(h).decode("ascii") for h in frontier(size, hashes)),
                checkpoint=note,
                signed_at=iso(self.clock()),
            )
        )
        return note

    def reset(self, accept_current_log: bool) -> SignerState | None:
        """Clear a refusal. With `accept_current_log` the signer also forgets its last checkpoint,
        so it signs the stored log as it is now (a fork an operator decided to accept)."""
        with self.locked():
            state = self.state()
            if state is None:
                return None
            if accept_current_log:  # kept, not deleted: it is evidence of what was signed
                stamp = iso(self.clock()).replace(":", "")
                self.state_path.rename(self.state_path.with_name(f"{self.state_path.name}.{stamp}"))
                return state
            self._write(replace(state, refusing="", refusing_since=""))
            return state

    def _write(self, state: SignerState) -> None:
        staged = self.state_path.with_name(self.state_path.name + ".tmp")
        data = json.dumps({"version": STATE_VERSION, **asdict(state)}, indent=1).encode()
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staged, self.state_path)
        directory = os.open(self.state_path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)
