"""`nsw audit verify-log`: the whole trail checked offline from its tiles, and every way of
rewriting it named by the first bad entry's index.

The log is written by the gateway's own storage on each database, exported with `nsw audit
export-tiles`; the tampering happens to the exported files — including the operator's worst case,
who holds the log key and re-signs a forged tree: only the copy an auditor kept (`--previous`) or
the applications' closure can expose that, and both must.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.cli.main import main
from gateway.pki.dev import LOG_KEY_FILE, LOG_VKEY_FILE, DevPki
from gateway.storage.repository import Message
from gateway.trail.checkpoint import Checkpoint, Cosigner
from gateway.trail.format import ENTRY_PREFIX, read_entry
from gateway.trail.keys import load_log_signer
from gateway.trail.merkle import leaf_hash, root_of
from gateway.trail.note import format_note
from gateway.trail.tiles import (
    TILE_WIDTH,
    bundles_for_size,
    entry_bundle,
    parse_entry_bundle,
    tiles_for_size,
)
from tests.log_state import log_state_for

ORIGIN = "kz.nsw.gateway/trail"
# Two applications' whole lives, then filler so the log spans two level-0 tiles (a full and a
# partial one) and a level-1 tile.
LIVES = [
    ("APP-1", "application", None),
    ("APP-1", "agency-request", "C-1"),
    ("APP-2", "application", None),
    ("APP-1", "agency-answer", "C-1"),
    ("APP-1", "decision", None),
    ("APP-2", "agency-request", "C-2"),
    ("APP-1", "trader-notification", None),
    ("APP-2", "agency-answer", "C-2"),
    ("APP-2", "decision", None),
]
FILLER = 270


@pytest.fixture
def exported(
    pki: DevPki, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("NSW_PKI_DIR", str(pki.directory))
    monkeypatch.setenv("NSW_DATABASE_URL", database_url)
    monkeypatch.setenv("NSW_LOG_STATE", str(log_state_for(database_url)))
    from gateway.bootstrap import build_services
    from gateway.config import load_config

    services = build_services(load_config())
    try:
        with services.store.transaction() as s:
            for n in range(FILLER):
                services.store._add_message(
                    s, None, Message("note", "in", "test", "text/plain", b"filler %d" % n)
                )
            for app, kind, case in LIVES:
                services.store._add_message(
                    s,
                    app,
                    Message(kind, "in", "test", "application/xml", kind.encode(), case_id=case),
                )
    finally:
        services.close()
    out = tmp_path / "log"
    result = CliRunner().invoke(main, ["audit", "export-tiles", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _verify(pki: DevPki, source: Path, *extra: str) -> Result:
    return CliRunner().invoke(
        main,
        [
            "audit",
            "verify-log",
            str(source),
            "--log-key",
            str(pki.directory / LOG_VKEY_FILE),
            *extra,
        ],
    )


def _entries(log: Path) -> list[bytes]:
    entries: list[bytes] = []
    size = int((log / "checkpoint").read_text().splitlines()[1])
    for bundle in bundles_for_size(size):
        entries += parse_entry_bundle((log / bundle.path).read_bytes())
    return entries


def _index_of(entries: list[bytes], kind: str, app: str) -> int:
    return next(
        i
        for i, e in enumerate(entries)
        if read_entry(e).get("kind") == kind and read_entry(e).get("application_id") == app
    )


def _write_bundles(log: Path, entries: list[bytes], size: int) -> None:
    """Rewrite the entry bundles only, at the paths a tree of `size` has (an edit that leaves the
    hash tiles and the checkpoint alone); the last bundle takes whatever entries remain."""
    bundles = bundles_for_size(size)
    for bundle in bundles:
        start = bundle.index * TILE_WIDTH
        chunk = entries[start:] if bundle == bundles[-1] else entries[start : start + bundle.width]
        (log / bundle.path).write_bytes(entry_bundle(chunk))


def _with(entry: bytes, **changes: object) -> bytes:
    fields = {**read_entry(entry), **changes}
    return ENTRY_PREFIX + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _forge(pki: DevPki, log: Path, entries: list[bytes]) -> None:
    """What an operator holding the log key can do: a whole new tree, tiles and signed checkpoint."""
    shutil.rmtree(log / "tile")
    size = len(entries)
    levels = [[leaf_hash(e) for e in entries]]
    for tile in tiles_for_size(size):
        while len(levels) <= tile.level:
            below = levels[-1]
            levels.append(
                [
                    root_of(below[i : i + TILE_WIDTH])
                    for i in range(0, len(below) - TILE_WIDTH + 1, TILE_WIDTH)
                ]
            )
        hashes = levels[tile.level][tile.index * TILE_WIDTH : tile.index * TILE_WIDTH + tile.width]
        (log / tile.path).parent.mkdir(parents=True, exist_ok=True)
        (log / tile.path).write_bytes(b"".join(hashes))
    for bundle in bundles_for_size(size):
        chunk = entries[bundle.index * TILE_WIDTH : bundle.index * TILE_WIDTH + bundle.width]
        (log / bundle.path).parent.mkdir(parents=True, exist_ok=True)
        (log / bundle.path).write_bytes(entry_bundle(chunk))
    signer = load_log_signer(pki.directory / LOG_KEY_FILE, ORIGIN)
    body = Checkpoint(ORIGIN, size, root_of(levels[0])).body()
    (log / "checkpoint").write_text(format_note(body, [signer.sign(body)]))


def _renumbered(entries: list[bytes]) -> list[bytes]:
    return [_with(e, seq=i) for i, e in enumerate(entries)]


def _bad_index(result: Result) -> int:
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("first bad entry: index"))
    return int(line.rsplit(" ", 1)[1])


def test_an_intact_log_passes_every_check(pki: DevPki, exported: Path) -> None:
    result = _verify(pki, exported)
    assert result.exit_code == 0, result.output
    assert "2 applications' messages each follow their rules" in result.output
    assert "all " in result.output and "checks passed" in result.output


def test_a_changed_entry_is_named(pki: DevPki, exported: Path) -> None:
    entries = _entries(exported)
    target = _index_of(entries, "agency-answer", "APP-1")
    entries[target] = _with(entries[target], sha256="0" * 64)
    _write_bundles(exported, entries, len(entries))
    result = _verify(pki, exported)
    assert _bad_index(result) == target
    assert f"entry {target} does not hash to the leaf the tile holds" in result.output


@pytest.mark.parametrize("how", ["deleted", "reordered"])
def test_a_deleted_or_reordered_entry_is_named(pki: DevPki, exported: Path, how: str) -> None:
    entries = _entries(exported)
    target = _index_of(entries, "agency-request", "APP-2")
    if how == "deleted":
        del entries[target]
    else:
        entries[target], entries[target + 1] = entries[target + 1], entries[target]
    _write_bundles(exported, entries, len(entries) + (1 if how == "deleted" else 0))
    assert _bad_index(_verify(pki, exported)) == target


def test_an_entry_appended_beyond_the_checkpoint_is_named(pki: DevPki, exported: Path) -> None:
    entries = _entries(exported)
    size = len(entries)
    extra = _with(entries[-1], seq=size)
    last = bundles_for_size(size)[-1]
    (exported / last.path).write_bytes(entry_bundle([*entries[last.index * TILE_WIDTH :], extra]))
    result = _verify(pki, exported)
    assert _bad_index(result) == size
    assert f"entry {size} is extra" in result.output


def test_a_re_signed_rewrite_is_named_against_the_auditors_copy(
    pki: DevPki, exported: Path, tmp_path: Path
) -> None:
    kept = tmp_path / "kept"
    shutil.copytree(exported, kept)
    entries = _entries(exported)
    target = _index_of(entries, "decision", "APP-1")
    entries[target] = _with(entries[target], sha256="0" * 64)
    _forge(pki, exported, entries)
    alone = _verify(pki, exported)
    assert alone.exit_code == 0, "a forged, re-signed tree is self-consistent: " + alone.output
    result = _verify(pki, exported, "--previous", str(kept))
    assert _bad_index(result) == target
    assert "differs from the previous copy of the log" in result.output


def test_a_rolled_back_log_is_named_against_the_auditors_copy(
    pki: DevPki, exported: Path, tmp_path: Path
) -> None:
    kept = tmp_path / "kept"
    shutil.copytree(exported, kept)
    entries = _entries(exported)
    _forge(pki, exported, entries[:-1])  # the last entry deleted, the tree re-signed
    result = _verify(pki, exported, "--previous", str(kept))
    assert _bad_index(result) == len(entries) - 1
    assert f"the log shrank from {len(entries)} to {len(entries) - 1}" in result.output


@pytest.mark.parametrize(
    ("kind", "app", "blamed"),
    [
        ("agency-request", "APP-2", ("agency-answer", "APP-2")),
        ("application", "APP-1", ("agency-request", "APP-1")),
        ("decision", "APP-1", ("trader-notification", "APP-1")),
    ],
)
def test_an_uncited_entry_deleted_and_renumbered_breaks_its_applications_closure(
    pki: DevPki, exported: Path, kind: str, app: str, blamed: tuple[str, str]
) -> None:
    entries = _entries(exported)
    del entries[_index_of(entries, kind, app)]
    forged = _renumbered(entries)
    _forge(pki, exported, forged)
    result = _verify(pki, exported)
    assert _bad_index(result) == _index_of(forged, *blamed)
    assert "closure" in result.output


def test_witness_quorum_and_bad_keys_are_clear(pki: DevPki, exported: Path) -> None:
    witness = Cosigner("witness.example/w1", Ed25519PrivateKey.generate())
    result = _verify(pki, exported, "--witness-key", witness.verifier.vkey, "--quorum", "1")
    assert result.exit_code == 1
    assert "0 of the 1 witness cosignatures needed" in result.output
    bad = exported.parent / "bad.vkey"
    bad.write_text("not a key")
    result = CliRunner().invoke(main, ["audit", "verify-log", str(exported), "--log-key", str(bad)])
    assert result.exit_code == 1
    assert "not a C2SP vkey" in result.output
    assert "Traceback" not in result.output
