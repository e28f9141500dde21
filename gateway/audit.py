"""The audit side of the trail: signed tree heads, proofs, and evidence bundles.

Everything here reads stored subtree hashes (`DbSubtreeHashes`), never rehashes the log, so a proof
in a log of millions of entries is O(log n) look-ups.
"""

from __future__ import annotations

import base64
import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.clock import Clock, iso
from gateway.errors import GatewayError, NotFound
from gateway.merkle import consistency_proof, inclusion_proof, tree_root
from gateway.storage import trail_log
from gateway.storage.db import disconnect_reason, lost_connection
from gateway.storage.models import MessageRow, TreeHeadRow
from gateway.storage.repository import Store
from gateway.trail_format import TreeHead, sign_tree_head
from gateway.wakeup import Wakeup
from gateway.xmlsig import SigningIdentity

BUNDLE_FORMAT = "nsw-evidence-bundle/1"
log = logging.getLogger(__name__)


class BadProofRequest(GatewayError):
    code, status, title = "bad-proof-request", 400, "The proof cannot be given for these sizes"


@dataclass
class Auditor:
    store: Store
    identity: SigningIdentity
    clock: Clock

    def issue_tree_head(self) -> TreeHead:
        """Sign a head for the current log size (or return the latest if the log has not grown)."""
        with self.store.transaction() as s:
            size = trail_log.log_size(s)
            latest = trail_log.latest_tree_head(s)
            if latest is not None and latest.size == size:
                return latest
            root = trail_log.with_stored_hashes(s, lambda h: tree_root(size, h))
            head = TreeHead(size, root, iso(self.clock()))
            head = sign_tree_head(head, self.identity.private_key)
        try:
            with self.store.transaction() as s:
                s.add(
                    TreeHeadRow(
                        size=head.size,
                        root=head.root,
                        issued_at=head.issued_at,
                        signature=head.signature,
                    )
                )
        except IntegrityError:  # another process signed this size first; theirs stands
            with self.store.transaction() as s:
                existing = trail_log.tree_head_at(s, size)
                assert existing is not None
                return existing
        return head

    def latest_tree_head(self) -> TreeHead:
        with self.store.transaction() as s:
            latest = trail_log.latest_tree_head(s)
        return latest if latest is not None else self.issue_tree_head()

    def tree_head(self, size: int) -> TreeHead:
        with self.store.transaction() as s:
            head = trail_log.tree_head_at(s, size)
        if head is None:
            raise NotFound(f"No signed tree head of size {size}.")
        return head

    def inclusion(self, seq: int, size: int) -> list[bytes]:
        with self.store.transaction() as s:
            if not 0 <= seq < size <= trail_log.log_size(s):
                raise BadProofRequest(f"Entry {seq} is not inside a log of size {size}.")
            return trail_log.with_stored_hashes(s, lambda h: inclusion_proof(seq, size, h))

    def consistency(self, first: int, second: int) -> list[bytes]:
        with self.store.transaction() as s:
            if not 0 < first <= second <= trail_log.log_size(s):
                raise BadProofRequest(f"No consistency proof from size {first} to size {second}.")
            return trail_log.with_stored_hashes(s, lambda h: consistency_proof(first, second, h))

    def entries(self, application_id: str) -> list[MessageRow]:
        with self.store.transaction() as s:
            rows = list(
                s.scalars(
                    select(MessageRow)
                    .where(MessageRow.application_id == application_id)
                    .order_by(MessageRow.seq)
                )
            )
        if not rows:
            raise NotFound(f"There is no application {application_id} in the trail.")
        return rows

    def bundle(self, application_id: str) -> dict[str, Any]:
        """Every message of the application with its entry and inclusion proof, the signed tree
        head they are proved against, and the gateway's certificate chain: all an auditor needs."""
        rows = self.entries(application_id)
        head = self.issue_tree_head()
        with self.store.transaction() as s:
            hashes = trail_log.DbSubtreeHashes(s)
            entries = [
                {
                    "seq": row.seq,
                    "kind": row.kind,
                    "direction": row.direction,
                    "counterpart": row.counterpart,
                    "entry": base64.b64encode(row.entry).decode("ascii"),
                    "body": base64.b64encode(row.body).decode("ascii"),
                    "inclusion_proof": [
                        p.hex() for p in inclusion_proof(row.seq, head.size, hashes)
                    ],
                }
                for row in rows
            ]
        return {
            "format": BUNDLE_FORMAT,
            "application_id": application_id,
            "exported_at": iso(self.clock()),
            "tree_head": head.to_json(),
            "gateway_chain": [pem.decode("ascii") for pem in self.identity.chain_pem],
            "entries": entries,
        }


class TreeHeadThread:
    """Signs a new tree head `interval_s` after entries are appended (woken by `appended`), so
    at most one head per interval while entries arrive and none, and no query, while the log is
    still. It looks once at start too: the log may have grown while nothing was signing."""

    def __init__(self, auditor: Auditor, interval_s: float, appended: Wakeup) -> None:
        self.auditor = auditor
        self.interval_s = interval_s
        self.appended = appended
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-heads", daemon=True)

    def _run(self) -> None:
        seen = -1  # not a count the wake-up has: the first wait returns at once
        while not self._stop.is_set():
            self.appended.wait(seen, None)
            # Let the entries of the next interval_s join this head.
            if self._stop.wait(self.interval_s):
                return
            seen = self.appended.seen()  # appends from here on call for the next head
            try:
                self.auditor.issue_tree_head()
            except Exception as exc:  # keep signing; the next round retries
                if lost_connection(exc):
                    log.warning("tree heads: database connection lost (%s)", disconnect_reason(exc))
                else:
                    log.exception("tree head signing failed")
                seen = -1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.appended.signal()  # end the wait for appends
        if self._thread.is_alive():
            self._thread.join(10)
