"""The whole-log verifier: an auditor's check of the entire trail, offline, from its tiles.

`nsw audit verify-log SOURCE` reads a tiled log (c2sp.org/tlog-tiles) from a directory written by
`nsw audit export-tiles` or from the gateway's tile URL prefix, and checks, naming the first bad
entry by its index wherever one is to blame:

1. the checkpoint is signed by the log's key, and cosigned by a quorum of the given witnesses;
2. the entry bundles hold exactly `size` entries — a missing bundle or entry, or one too many, is
   named;
3. entry i carries sequence number i — a deleted, inserted or reordered entry shows as the first
   index where that breaks;
4. each entry hashes to the leaf hash in the level-0 hash tile (a changed entry), every hash tile
   above agrees with the tiles below, and the root of all leaves is the root the checkpoint signs;
5. against a previous copy the auditor kept (`--previous`): the log did not shrink (rolled back),
   no entry the previous copy holds changed, and the old checkpoint's root is the root of the
   first `old size` leaves (consistency);
6. each application's closure holds (`CLOSURE_RULES`): the application comes first; every agency
   answer or callback follows that case's request; a decision follows an answer for every case
   requested before it (unless the application was withdrawn first: its open cases are cancelled,
   issue 19); a trader notification, checkpoint event or officer action follows the
   application (and a notification its decision).

Pure apart from reading the source: no database, no gateway configuration.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gateway.trail.checkpoint import CosignatureVerifier, parse_checkpoint, signatures_by
from gateway.trail.format import read_entry
from gateway.trail.merkle import leaf_hash, root_of
from gateway.trail.note import NoteError, NoteVerifier, verify_note
from gateway.trail.tiles import (
    TILE_WIDTH,
    TileError,
    TileId,
    parse_entry_bundle,
    split_tile,
    tiles_for_size,
)
from gateway.trail.verify import Check

LOG = "log"

# Kinds that answer a case, and kinds that belong to an application once it exists.
ANSWERS = frozenset({"agency-answer", "callback", "operator-decision"})
CHECKPOINT_EVENTS = frozenset(
    {
        "device-event",
        "gate-answer",
        "barrier-command",
        "transit-opened",
        "transit-closed",
        "gnss-position",
        "transit-alert",
        "manual-clearance",
        "officer-action",
    }
)
CLOSURE_RULES = (
    "an application's first entry is the application as received",
    "an agency answer or callback follows its case's request",
    "a decision follows an answer for every case requested before it, unless a withdrawal does",
    "a trader notification follows the application's decision",
    "checkpoint events and officer actions follow the application",
)


class TileReader(Protocol):
    """Where the tiles come from: `read("checkpoint")`, `read("tile/0/000")`…; None when absent."""

    def read(self, path: str) -> bytes | None: ...


@dataclass(frozen=True)
class DirectoryTiles:
    root: Path

    def read(self, path: str) -> bytes | None:
        target = self.root / path
        return target.read_bytes() if target.is_file() else None


@dataclass(frozen=True)
class FetchedTiles:
    """Tiles behind a URL prefix; `get(path)` returns the body, or None for a 404."""

    get: Callable[[str], bytes | None]

    def read(self, path: str) -> bytes | None:
        return self.get(path)


@dataclass
class LogReport:
    checks: list[Check] = field(default_factory=list)
    size: int = 0
    first_bad_index: int | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def fail(self, what: str, check: str, detail: str, index: int | None = None) -> None:
        self.checks.append(Check(False, what, check, detail))
        if index is not None and (self.first_bad_index is None or index < self.first_bad_index):
            self.first_bad_index = index

    def passed(self, what: str, check: str, detail: str = "") -> None:
        self.checks.append(Check(True, what, check, detail))


@dataclass(frozen=True)
class _Log:
    size: int
    root: bytes
    entries: list[bytes]  # as many as the bundles held (may differ from size)


def verify_log(
    source: TileReader,
    log_key: NoteVerifier,
    *,
    witnesses: Sequence[CosignatureVerifier] = (),
    quorum: int = 0,
    previous: TileReader | None = None,
) -> LogReport:
    report = LogReport()
    log = _open(source, log_key, report, "checkpoint", witnesses, quorum)
    if log is None:
        return report
    report.size = log.size
    leaves = _check_entries(log, report)
    if leaves is not None:
        _check_tiles(source, log, leaves, report)
    if previous is not None:
        old = _open(previous, log_key, report, "previous checkpoint", (), 0)
        if old is not None:
            _check_against_previous(old, log, report)
    _check_closure(log.entries[: log.size], report)
    return report


def _open(
    source: TileReader,
    log_key: NoteVerifier,
    report: LogReport,
    what: str,
    witnesses: Sequence[CosignatureVerifier],
    quorum: int,
) -> _Log | None:
    raw = source.read("checkpoint")
    if raw is None:
        report.fail(what, "present", "the source has no checkpoint")
        return None
    try:
        note, verified = verify_note(raw, [log_key, *witnesses])
        checkpoint = parse_checkpoint(note.text)
    except (NoteError, UnicodeDecodeError) as exc:
        report.fail(what, "signature", str(exc))
        return None
    if not signatures_by(verified.signatures, log_key):
        report.fail(what, "signature", f"not signed by the log key {log_key.name}")
        return None
    report.passed(what, "signature", f"size {checkpoint.size}, signed by {log_key.name}")
    if quorum:
        cosigned = sorted({w.name for w in witnesses if signatures_by(verified.signatures, w)})
        if len(cosigned) < quorum:
            report.fail(
                what,
                "witness quorum",
                f"{len(cosigned)} of the {quorum} witness cosignatures needed"
                + (f" ({', '.join(cosigned)})" if cosigned else ""),
            )
        else:
            report.passed(what, "witness quorum", f"cosigned by {', '.join(cosigned)}")
    entries: list[bytes] = []
    first_tile = 0
    while True:
        bundle, width = _read_bundle(source, first_tile, checkpoint.size)
        if bundle is None:
            if len(entries) < checkpoint.size:
                report.fail(
                    what,
                    "entry bundles",
                    f"the bundle holding entry {len(entries)} is missing",
                    len(entries) if what == "checkpoint" else None,
                )
            break
        try:
            held = parse_entry_bundle(bundle)
        except TileError as exc:
            report.fail(what, "entry bundles", f"bundle {first_tile}: {exc}", len(entries))
            break
        if len(held) != width and what == "checkpoint":
            at = len(entries) + min(len(held), width)
            report.fail(
                LOG,
                "entry count",
                f"bundle {first_tile} holds {len(held)} entries, the checkpoint's tree {width}: "
                f"entry {at} is {'extra' if len(held) > width else 'missing'}",
                at,
            )
        entries.extend(held)
        if width < TILE_WIDTH or len(entries) >= checkpoint.size:
            break
        first_tile += 1
    return _Log(checkpoint.size, checkpoint.root, entries)


def _read_bundle(source: TileReader, index: int, size: int) -> tuple[bytes | None, int]:
    width = min(TILE_WIDTH, size - index * TILE_WIDTH)
    if width <= 0:
        return None, 0
    return source.read(TileId(0, index, width, entries=True).path), width


def _check_entries(log: _Log, report: LogReport) -> list[bytes] | None:
    """Step 3: entry i is well formed and carries seq i. Returns the leaf hashes of the first
    `size` entries (None when there are fewer)."""
    bad = 0
    for index, entry in enumerate(log.entries[: log.size]):
        try:
            seq = read_entry(entry).get("seq")
        except (ValueError, json.JSONDecodeError) as exc:
            report.fail(f"entry {index}", "format", str(exc), index)
            bad += 1
            continue
        if seq != index:
            report.fail(
                f"entry {index}",
                "sequence",
                f"carries seq {seq}: an entry before it was deleted, inserted or moved",
                index,
            )
            bad += 1
            break  # every later entry is off by the same shift; the first one is the news
    if not bad:
        report.passed(LOG, "sequence", f"entries 0..{log.size - 1} are in order, none missing")
    if len(log.entries) < log.size:
        return None
    return [leaf_hash(e) for e in log.entries[: log.size]]


def _check_tiles(source: TileReader, log: _Log, leaves: list[bytes], report: LogReport) -> None:
    """Step 4: the hash tiles agree with the entries, level by level, and the root with the
    checkpoint."""
    by_level: dict[int, list[bytes]] = {0: leaves}
    tiles_ok = True
    for tile in tiles_for_size(log.size):
        hashes = by_level.get(tile.level)
        if hashes is None:
            below = by_level[tile.level - 1]
            full = len(below) // TILE_WIDTH
            hashes = [root_of(below[i * TILE_WIDTH : (i + 1) * TILE_WIDTH]) for i in range(full)]
            by_level[tile.level] = hashes
        raw = source.read(tile.path)
        if raw is None:
            report.fail(tile.path, "present", "the hash tile is missing")
            tiles_ok = False
            continue
        try:
            stored = split_tile(raw, tile.width)
        except TileError as exc:
            report.fail(tile.path, "format", str(exc))
            tiles_ok = False
            continue
        for i, (have, want) in enumerate(
            zip(stored, hashes[tile.index * TILE_WIDTH :], strict=False)
        ):
            if have != want:
                span = TILE_WIDTH**tile.level
                first = (tile.index * TILE_WIDTH + i) * span
                detail = (
                    f"entry {first} does not hash to the leaf the tile holds: it was changed"
                    if tile.level == 0
                    else f"the subtree from entry {first} differs from the tiles below it"
                )
                report.fail(tile.path, "hashes", detail, first)
                tiles_ok = False
                break
    if tiles_ok:
        report.passed(LOG, "hash tiles", f"every tile agrees with the {log.size} entries")
    root = root_of(leaves)
    if root == log.root:
        report.passed(LOG, "root", "the entries' root is the root the checkpoint signs")
    else:
        report.fail(LOG, "root", "the entries' root is not the root the checkpoint signs")


def _check_against_previous(old: _Log, new: _Log, report: LogReport) -> None:
    """Step 5: what the auditor saw before is still there, unchanged, at the same indices."""
    if new.size < old.size:
        report.fail(
            LOG,
            "no rollback",
            f"the log shrank from {old.size} to {new.size} entries: entries {new.size}.."
            f"{old.size - 1} are gone",
            new.size,
        )
    for index, (before, now) in enumerate(zip(old.entries[: old.size], new.entries, strict=False)):
        if before != now:
            report.fail(
                f"entry {index}", "unchanged", "differs from the previous copy of the log", index
            )
            return
    if new.size >= old.size and len(new.entries) >= old.size:
        if root_of([leaf_hash(e) for e in new.entries[: old.size]]) != old.root:
            report.fail(
                LOG, "consistency", f"the first {old.size} entries do not give the old root"
            )
            return
        report.passed(
            LOG, "consistency", f"the previous checkpoint (size {old.size}) is a prefix of this log"
        )


def _check_closure(entries: Sequence[bytes], report: LogReport) -> None:
    """Step 6: each application's messages arrive in an order only an intact log can show."""
    seen_app: set[str] = set()
    decided: set[str] = set()
    requested: dict[str, dict[str, int]] = {}  # application -> case -> request index
    answered: set[str] = set()
    withdrawn: set[str] = set()  # a withdrawal's decision comes before its cases' last answers
    broken = 0
    for index, entry in enumerate(entries):
        try:
            fields: dict[str, Any] = read_entry(entry)
        except (ValueError, json.JSONDecodeError):
            continue  # already reported by step 3
        app, kind, case = fields.get("application_id"), fields.get("kind"), fields.get("case_id")
        if not isinstance(app, str) or not app:
            continue
        problem = None
        if kind == "application":
            seen_app.add(app)
        elif app not in seen_app:
            problem = f"{kind} for application {app} comes before (or without) the application"
        elif kind == "agency-request" and isinstance(case, str):
            requested.setdefault(app, {})[case] = index
        elif kind in ANSWERS and isinstance(case, str):
            if case not in requested.get(app, {}):
                problem = f"{kind} for case {case} has no request before it"
            answered.add(case)
        elif kind == "withdrawal":
            withdrawn.add(app)
        elif kind == "decision":
            open_cases = sorted(c for c in requested.get(app, {}) if c not in answered)
            if open_cases and app not in withdrawn:
                problem = f"decision for {app} comes before any answer of case {open_cases[0]}"
            decided.add(app)
        elif kind == "trader-notification" and app not in decided:
            problem = f"notification for {app} comes before (or without) its decision"
        if problem:
            report.fail(f"entry {index}", "closure", problem, index)
            broken += 1
            if broken >= 20:
                report.fail(LOG, "closure", "stopped after 20 broken closures")
                return
    if not broken:
        report.passed(
            LOG, "closure", f"{len(seen_app)} applications' messages each follow their rules"
        )


def bad_index_sentence(report: LogReport) -> str:
    if report.first_bad_index is None:
        return ""
    return f"first bad entry: index {report.first_bad_index}"


__all__ = [
    "CLOSURE_RULES",
    "DirectoryTiles",
    "FetchedTiles",
    "LogReport",
    "TileReader",
    "bad_index_sentence",
    "verify_log",
]
