"""Writing the log as static files: `checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/...`.

The directory can be served as it is by any web server (tlog-tiles was designed for that), or handed
to an auditor who checks it offline. The source is a small port so a future integrator, not only
the database-backed `Auditor`, can feed it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from gateway.trail.checkpoint import parse_checkpoint
from gateway.trail.note import parse_note
from gateway.trail.tiles import TileId, bundles_for_size, tiles_for_size


class TileSource(Protocol):
    def checkpoint_note(self) -> str: ...

    def tile(self, tile: TileId) -> bytes: ...


def export_tiles(source: TileSource, directory: Path) -> tuple[int, int]:
    """Write the latest checkpoint and every tile and entry bundle of its tree into `directory`;
    returns (tree size, files written). Files are written beside and renamed into place, the
    checkpoint last, so a reader never sees a checkpoint whose tiles are missing."""
    note = source.checkpoint_note()
    size = parse_checkpoint(parse_note(note).text).size
    wanted = tiles_for_size(size) + bundles_for_size(size)
    for tile in wanted:
        _write(directory / tile.path, source.tile(tile))
    _write(directory / "checkpoint", note.encode("utf-8"))
    return size, len(wanted) + 1


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".tmp")
    staged.write_bytes(data)
    os.replace(staged, path)
