"""The audit side of the trail: signed tree heads, proofs, and evidence bundles.

Everything here reads stored subtree hashes (through the `Trail` port), never rehashes the log, so a proof
in a log of millions of entries is O(log n) look-ups.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from gateway.clock import Clock, iso
from gateway.errors import GatewayError, NotFound, ServiceUnavailable
from gateway.i18n.text import Text
from gateway.trail.consistency import frontier
from gateway.trail.format import TreeHead, sign_tree_head
from gateway.trail.merkle import SubtreeHashes, consistency_proof, inclusion_proof, tree_root
from gateway.trail.messages import Message
from gateway.trail.ports import StoredCheckpoint, Trail, TrailEntry
from gateway.trail.signer import LogSigner
from gateway.trail.tiles import TILE_WIDTH, TileId, entry_bundle, tile_hashes, tile_in_tree
from gateway.trail.witness import Witnesses
from gateway.trust.xmlsig import SigningIdentity

BUNDLE_FORMAT = "nsw-evidence-bundle/1"

log = logging.getLogger(__name__)


class BadProofRequest(GatewayError):
    code, status, title = "bad-proof-request", 400, "The proof cannot be given for these sizes"


class DocumentBytes(Protocol):
    """The uploaded supporting documents of an application (gateway.lifecycle.ports.Attachments)."""

    def uploaded(self, application_id: str) -> frozenset[str]: ...

    def contents(self, application_id: str, digests: Iterable[str]) -> Mapping[str, bytes]: ...


class NotIntegrated(ServiceUnavailable):
    """The messages asked for are still queued for the integrator: ask again shortly."""

    code, status, title = (
        "trail-not-integrated",
        503,
        "The trail has not yet given these messages their place in the log",
    )


INTEGRATION_TRIES = 5  # a bundle's integrate-and-read rounds before it says "not yet"


@dataclass
class Auditor:
    trail: Trail
    identity: SigningIdentity
    clock: Clock
    log_signer: LogSigner | None = None  # the C2SP checkpoint signer; None: RSA tree heads only
    witnesses: Witnesses | None = None  # who cosigns each checkpoint before it is published
    # The agencies' pinned certificates (code -> PEM), carried in bundles so that an auditor can
    # re-check agency signatures offline; each must chain to the CA the auditor holds.
    agency_certificates: Mapping[str, str] = field(default_factory=dict)
    attachments: DocumentBytes | None = None  # the documents a bundle carries beside the trail

    def integrate(self, wait: bool = True, max_batches: int | None = None) -> int:
        """Sequence the queued messages now (see `Trail.integrate`); how many were."""
        return self.trail.integrate(wait, max_batches)

    def issue_tree_head(self, integrate: bool = True) -> TreeHead:
        """Sign a head for the current log size (or return the latest if the log has not grown),
        and the C2SP checkpoint beside it; `SignerRefusing` if the stored log does not extend the
        checkpoint the log's signer signed last (then neither is signed). `integrate`: first
        sequence what is queued, so the head covers every message committed before the call."""
        if integrate:
            self.integrate()
        head = self._signed(empty=True)
        assert head is not None  # an empty log's head is signed too
        return head

    def _signed(self, empty: bool) -> TreeHead | None:
        """`_issue` holding the log signer's lock (if any)."""
        if self.log_signer is None:
            return self._issue(None, empty)
        with self.log_signer.locked():
            return self._issue(self.log_signer, empty)

    def _issue(self, signer: LogSigner | None, empty: bool) -> TreeHead | None:
        """The head for the log's size (None for an empty log unless `empty`)."""
        # A snapshot is enough: only the integrator writes the log, and the size and the stored
        # hashes read here agree in it (SQLite: no write lock, so busy writers do not delay it).
        with self.trail.reading() as log_:
            size = log_.log_size()
            if size == 0 and not empty:
                return None
            latest = log_.latest_tree_head()
            have_checkpoint = signer is None or log_.checkpoint_at(size) is not None
            if latest is not None and latest.size == size and have_checkpoint:
                return latest
            # One round trip for the root and every hash the signer's checks ask for (the
            # frontiers of both trees, the consistency proof between them): one at a time,
            # they were some 40 look-ups per checkpoint at 10^6 entries.
            computations: list[Callable[[SubtreeHashes], object]] = [partial(tree_root, size)]
            last = signer.state() if signer is not None else None
            if signer is not None:
                computations.append(partial(frontier, size))
            if last is not None and 0 < last.size <= size:
                computations.append(partial(frontier, last.size))
                computations.append(partial(consistency_proof, last.size, size))
            hashes = log_.prefetched(computations)
            root = tree_root(size, hashes)
            note = None
            if signer is not None:
                # The signer checks the new tree against its own memory, not against the
                # database's tree heads: those are what a rewrite of history deletes first.
                note = signer.sign(size, root, hashes)
            if latest is not None and latest.size == size:
                head = latest
            else:
                head = sign_tree_head(
                    TreeHead(size, root, iso(self.clock())), self.identity.private_key
                )
        if note is not None and self.witnesses is not None:
            # Published only with enough cosignatures; without, the next round asks again.
            note, enough = self.witnesses.cosign(note, size, self.consistency, self._log_size)
            note = note if enough else None
        checkpoint = None
        if note is not None:
            checkpoint = StoredCheckpoint(size, root, note, iso(self.clock()))
        # One transaction (one commit to wait for); another process's head of this size stands.
        return self.trail.store_signed(head, checkpoint)

    def reset_signer(self, operator: str, reason: str, accept_current_log: bool) -> str:
        """An operator's decision after investigating a refusal: clear it (and with
        `accept_current_log`, let the signer sign the stored log as it now is). The decision is
        itself appended to the trail, so the next checkpoint commits to it."""
        if self.log_signer is None:
            raise GatewayError(Text("This gateway has no checkpoint signer to reset."))
        # The decision is written to the trail first: a reset that is not on record never happens.
        before = self.log_signer.state()
        decision = {
            "action": "accept-current-log" if accept_current_log else "clear-refusal",
            "operator": operator,
            "reason": reason,
            "signer_last_size": before.size if before else None,
            "signer_refused": before.refusing if before else "",
        }
        body = json.dumps(decision, sort_keys=True, ensure_ascii=False).encode()
        message = Message(
            "operator-decision",
            "in",
            f"operator:{operator}"[:64],
            "application/json",
            body,
        )
        with self.trail.writing() as log_:
            message_id = log_.append(None, message)
        self.integrate()
        with self.trail.reading() as log_:
            seq = log_.seq_of(message_id)
        self.log_signer.reset(accept_current_log)
        return f"entry {seq}: {decision['action']}"

    # The reads below only read (rows that, once written, never change): a read-only session,
    # so on SQLite they take no write lock and never queue behind an append or the integrator.
    def checkpoint_note(self) -> str:
        """The latest signed checkpoint with the cosignatures gathered for it."""
        with self.trail.reading() as log_:
            row = log_.latest_checkpoint()
        if row is None:
            self.issue_tree_head()
            with self.trail.reading() as log_:
                row = log_.latest_checkpoint()
        if row is None:
            raise NotFound(Text("The trail has no signed checkpoint yet."))
        return row.note

    def tile(self, tile: TileId) -> bytes:
        """A tile or entry bundle (c2sp.org/tlog-tiles) of the tree of the latest checkpoint."""
        with self.trail.reading() as log_:
            row = log_.latest_checkpoint()
            if row is None or not tile_in_tree(tile, row.size):
                raise NotFound(Text("No %(path)s in the latest signed checkpoint.", path=tile.path))
            if tile.entries:
                start = tile.index * TILE_WIDTH
                return entry_bundle(log_.entries_between(start, start + tile.width))
            hashes = log_.hashes()
            hashes.load([tile.leaf_range(i) for i in range(tile.width)])
            return tile_hashes(tile, hashes)

    def signer_refusal(self) -> str:
        """Why the checkpoint signer refuses to sign ('' while it signs)."""
        return self.log_signer.refusal() if self.log_signer is not None else ""

    def witness_alarms(self) -> dict[str, str]:
        """Per witness: why it last refused our checkpoint as inconsistent (absent when it did not)."""
        if self.witnesses is None:
            return {}
        return {w.name: self.witnesses.alarms.get(w.name, "") for w in self.witnesses.configs}

    def sign_checkpoint(self) -> TreeHead | None:
        """The integrator loop's signing: a head and checkpoint for the log as integrated, or
        None while the log is empty. A new gateway's loop would otherwise sign size 0 first, and
        an auditor who took that as the first tree it saw could ask for no consistency proof
        from it (proofs start at size 1)."""
        return self._signed(empty=False)  # the size read with the rest: no look of its own

    def _log_size(self) -> int:
        with self.trail.reading() as log_:
            return log_.log_size()

    def latest_tree_head(self) -> TreeHead:
        with self.trail.reading() as log_:
            latest = log_.latest_tree_head()
        return latest if latest is not None else self.issue_tree_head()

    def tree_head(self, size: int) -> TreeHead:
        with self.trail.reading() as log_:
            head = log_.tree_head_at(size)
        if head is None:
            raise NotFound(Text("No signed tree head of size %(size)s.", size=size))
        return head

    # A proof is one statement that reads its subtree hashes together with the tree's last leaf
    # (which says whether the log is that big): no transaction, no lock, so an auditor's proofs
    # and the appends never queue behind each other. Stored subtree hashes never change once
    # written, so the proof is final.
    def inclusion(self, seq: int, size: int) -> list[bytes]:
        proof = None
        if 0 <= seq < size:
            proof = self.trail.proof(size, lambda h: inclusion_proof(seq, size, h))
        if proof is None:
            raise BadProofRequest(
                Text("Entry %(seq)s is not inside a log of size %(size)s.", seq=seq, size=size)
            )
        return proof

    def consistency(self, first: int, second: int) -> list[bytes]:
        proof = None
        if 0 < first <= second:
            proof = self.trail.proof(second, lambda h: consistency_proof(first, second, h))
        if proof is None:
            raise BadProofRequest(
                Text(
                    "No consistency proof from size %(first)s to size %(second)s.",
                    first=first,
                    second=second,
                )
            )
        return proof

    def entries(self, application_id: str) -> list[TrailEntry]:
        """The application's messages in log order, sequenced first if they were queued (one
        arriving meanwhile may still be queued: its seq is None)."""
        self.integrate()
        with self.trail.reading() as log_:
            rows = log_.entries_of(application_id)
        if not rows:
            raise NotFound(
                Text(
                    "There is no application %(application_id)s in the trail.",
                    application_id=application_id,
                )
            )
        return rows

    def integrated_entries(self, application_id: str) -> list[TrailEntry]:
        """`entries`, every one sequenced: integrates again while any is queued, a few rounds,
        then `NotIntegrated` (the caller may ask again shortly)."""
        for _ in range(INTEGRATION_TRIES):
            rows = self.entries(application_id)
            if all(row.seq is not None for row in rows):
                return rows
        raise NotIntegrated(
            Text(
                "Messages of %(application_id)s are still waiting for their place in the trail; "
                "ask again in a moment.",
                application_id=application_id,
            )
        )

    def bundle(self, application_id: str) -> dict[str, Any]:
        """Every message of the application with its entry and inclusion proof, the signed tree
        head they are proved against, and the gateway's certificate chain: all an auditor needs.
        Messages still queued are sequenced first (`NotIntegrated` if they stay queued)."""
        rows = self.integrated_entries(application_id)
        head = self.issue_tree_head(integrate=False)  # covers every row: they are sequenced
        placed = [(row, row.seq) for row in rows if row.seq is not None]  # all, as said above
        with self.trail.reading() as log_:
            # Every node of every entry's proof in one query, not one look-up per node.
            hashes = log_.prefetched(
                [partial(inclusion_proof, seq, head.size) for _, seq in placed]
            )
            entries = [
                {
                    "seq": seq,
                    "kind": row.kind,
                    "direction": row.direction,
                    "counterpart": row.counterpart,
                    "entry": base64.b64encode(row.entry).decode("ascii"),
                    "body": base64.b64encode(row.body).decode("ascii"),
                    "inclusion_proof": [p.hex() for p in inclusion_proof(seq, head.size, hashes)],
                }
                for row, seq in placed
            ]
        return {
            "format": BUNDLE_FORMAT,
            "application_id": application_id,
            "exported_at": iso(self.clock()),
            "tree_head": head.to_json(),
            "gateway_chain": [pem.decode("ascii") for pem in self.identity.chain_pem],
            "agency_certificates": dict(self.agency_certificates),
            "entries": entries,
            "attachments": self._attachments(application_id),
        }

    def _attachments(self, application_id: str) -> list[dict[str, str]]:
        """Each uploaded document's bytes; the trail cites them by digest (kind `attachment`)."""
        if self.attachments is None:
            return []
        contents = self.attachments.contents(
            application_id, sorted(self.attachments.uploaded(application_id))
        )
        return [
            {"sha256": sha, "content": base64.b64encode(data).decode("ascii")}
            for sha, data in sorted(contents.items())
        ]
