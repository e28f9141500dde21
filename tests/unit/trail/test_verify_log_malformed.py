"""`nsw audit verify-log` never tracebacks (issue 18): a tiled log that is malformed — a checkpoint
that is no note, a size of 5000 digits or beyond uint64 signed by the log's own key, truncated
tiles and entry bundles, entries that are not JSON objects — ends in failed checks or a sentence
and a non-zero exit, through `verify_log` and through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.cli.main import main
from gateway.trail.checkpoint import Checkpoint
from gateway.trail.format import ENTRY_PREFIX, entry_bytes
from gateway.trail.log_verify import verify_log
from gateway.trail.merkle import InMemorySubtreeHashes, leaf_hash, tree_root
from gateway.trail.note import Ed25519Signer, format_note
from gateway.trail.tiles import bundles_for_size, entry_bundle, tile_hashes, tiles_for_size

ORIGIN = "kz.nsw.gateway/trail"
SIZE = 260  # a full and a partial level-0 tile, and a level-1 tile
SIGNER = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())


def _signed(text: str) -> bytes:
    return format_note(text, [SIGNER.sign(text)]).encode()


def _log(size: int = SIZE) -> dict[str, bytes]:
    """A tiled log of `size` entries (path -> bytes), as `nsw audit export-tiles` writes it."""
    entries = [
        entry_bytes({"seq": i, "kind": "note", "application_id": None, "sha256": "00" * 32})
        for i in range(size)
    ]
    hashes = InMemorySubtreeHashes()
    for entry in entries:
        hashes.append(leaf_hash(entry))
    files = {tile.path: tile_hashes(tile, hashes) for tile in tiles_for_size(size)}
    for bundle in bundles_for_size(size):
        start = bundle.index * 256
        files[bundle.path] = entry_bundle(entries[start : start + bundle.width])
    files["checkpoint"] = _signed(Checkpoint(ORIGIN, size, tree_root(size, hashes)).body())
    return files


@dataclass
class MemoryTiles:
    files: dict[str, bytes]

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)


def test_the_base_log_verifies() -> None:
    report = verify_log(MemoryTiles(_log()), SIGNER.verifier)
    assert report.ok, [c.line() for c in report.checks if not c.ok]


LAST_BUNDLE = "tile/entries/001.p/4"
LAST_TILE = "tile/0/001.p/4"
ROOT_B64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def _replace(path: str, data: bytes | None) -> Callable[[dict[str, bytes]], None]:
    def mutate(files: dict[str, bytes]) -> None:
        if data is None:
            del files[path]
        else:
            files[path] = data

    return mutate


def _cut(path: str, keep: int) -> Callable[[dict[str, bytes]], None]:
    return lambda files: files.__setitem__(path, files[path][:keep])


def _entry(body: bytes) -> Callable[[dict[str, bytes]], None]:
    """Entry 256 (the first of the last bundle) replaced by `body` after the entry prefix."""

    def mutate(files: dict[str, bytes]) -> None:
        bundle = files[LAST_BUNDLE]
        length = int.from_bytes(bundle[:2], "big")
        entry = ENTRY_PREFIX + body
        files[LAST_BUNDLE] = len(entry).to_bytes(2, "big") + entry + bundle[2 + length :]

    return mutate


MUTATIONS: list[tuple[str, Callable[[dict[str, bytes]], None]]] = [
    ("no checkpoint", _replace("checkpoint", None)),
    ("checkpoint not UTF-8", _replace("checkpoint", b"\xff\xfe\x00")),
    ("checkpoint no note", _replace("checkpoint", b"hello\n")),
    ("checkpoint unsigned", _replace("checkpoint", f"{ORIGIN}\n3\n{ROOT_B64}\n\n".encode())),
    ("size negative, signed", _replace("checkpoint", _signed(f"{ORIGIN}\n-5\n{ROOT_B64}\n"))),
    (
        "size 5000 digits, signed",
        _replace("checkpoint", _signed(f"{ORIGIN}\n{'9' * 5000}\n{ROOT_B64}\n")),
    ),
    (
        "size beyond uint64, signed",
        _replace("checkpoint", _signed(f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n")),
    ),
    ("size 2^63, signed", _replace("checkpoint", _signed(f"{ORIGIN}\n{2**63}\n{ROOT_B64}\n"))),
    ("root not base64, signed", _replace("checkpoint", _signed(f"{ORIGIN}\n{SIZE}\n@@@\n"))),
    ("root short, signed", _replace("checkpoint", _signed(f"{ORIGIN}\n{SIZE}\nAAAA\n"))),
    ("entry bundle missing", _replace(LAST_BUNDLE, None)),
    ("entry bundle empty", _replace(LAST_BUNDLE, b"")),
    ("entry bundle cut in a length", _cut(LAST_BUNDLE, 1)),
    ("entry bundle cut in an entry", _cut(LAST_BUNDLE, 40)),
    (
        "entry bundle with extra bytes",
        lambda f: f.__setitem__(LAST_BUNDLE, f[LAST_BUNDLE] + b"\x00\x05ab"),
    ),
    ("entry not JSON", _entry(b"{not json")),
    ("entry a JSON array", _entry(b'[{"seq": 256}]')),
    ("entry a JSON string", _entry(b'"256"')),
    ("entry nested deeply", _entry(b"[" * 5000 + b"]" * 5000)),
    ("entry seq a huge number", _entry(b'{"seq": ' + b"9" * 4000 + b"}")),
    ("entry not UTF-8", _entry(b'{"seq": "\xff"}')),
    ("entry without prefix", lambda f: f.__setitem__(LAST_BUNDLE, b"\x00\x02{}" + f[LAST_BUNDLE])),
    ("hash tile missing", _replace(LAST_TILE, None)),
    ("hash tile cut", _cut(LAST_TILE, 33)),
    ("level-1 tile cut", _cut("tile/1/000.p/1", 5)),
]


@pytest.mark.parametrize("mutate", [m for _, m in MUTATIONS], ids=[n for n, _ in MUTATIONS])
def test_a_malformed_log_fails_its_checks_never_a_traceback(
    mutate: Callable[[dict[str, bytes]], None],
) -> None:
    files = _log()
    mutate(files)
    report = verify_log(MemoryTiles(files), SIGNER.verifier)
    assert not report.ok
    assert all(c.line() for c in report.checks)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_byte_changed_or_file_cut_never_tracebacks(data: st.DataObject) -> None:
    files = _log()
    path = data.draw(st.sampled_from(sorted(files)))
    raw = bytearray(files[path])
    if raw and data.draw(st.booleans()):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    files[path] = bytes(raw[: data.draw(st.integers(0, len(raw)))])
    report = verify_log(MemoryTiles(files), SIGNER.verifier)
    assert all(c.line() for c in report.checks)  # each check reads as a sentence


# --- through the CLI ------------------------------------------------------------------------------


def _write(directory: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(data)
    return directory


def _cli(tmp_path: Path, source: Path, *extra: str, key: bytes | None = None) -> Any:
    vkey = tmp_path / "log.vkey"
    vkey.write_bytes(key if key is not None else SIGNER.verifier.vkey.encode())
    return CliRunner().invoke(
        main, ["audit", "verify-log", str(source), "--log-key", str(vkey), *extra]
    )


def _no_traceback(result: Any) -> None:
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("mutate", [m for _, m in MUTATIONS], ids=[n for n, _ in MUTATIONS])
def test_the_cli_never_tracebacks_on_a_malformed_log(
    tmp_path: Path, mutate: Callable[[dict[str, bytes]], None]
) -> None:
    files = _log()
    mutate(files)
    result = _cli(tmp_path, _write(tmp_path / "log", files))
    _no_traceback(result)
    assert "FAIL" in result.output


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ((), b"\xff\xfe not a key"),
        ((), b""),
        ((), b"name+00000000+AAAA"),
        (("--witness-key", "garbage"), None),
        (("--quorum", "2"), None),
        (("--quorum", "-1"), None),
        (("--previous", "/nonexistent/log"), None),
    ],
    ids=[
        "key not UTF-8",
        "key empty",
        "key wrong id",
        "witness garbage",
        "quorum unmet",
        "quorum negative",
        "previous missing",
    ],
)
def test_the_cli_says_what_is_wrong_with_its_keys_and_options(
    tmp_path: Path, extra: tuple[str, ...], key: bytes | None
) -> None:
    result = _cli(tmp_path, _write(tmp_path / "log", _log()), *extra, key=key)
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output and "Error" in result.output


def test_a_previous_copy_that_is_malformed_is_named_not_a_traceback(tmp_path: Path) -> None:
    old = _log(100)
    old[bundles_for_size(100)[0].path] = b"\x00"
    result = _cli(
        tmp_path,
        _write(tmp_path / "log", _log()),
        "--previous",
        str(_write(tmp_path / "old", old)),
    )
    _no_traceback(result)
    assert "previous checkpoint" in result.output
