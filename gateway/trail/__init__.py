"""The trail in the transparency-log world's formats: C2SP signed notes, checkpoints,
cosignatures and tiles (c2sp.org/signed-note, tlog-checkpoint, tlog-cosignature, tlog-tiles)."""

from gateway.trail.checkpoint import (
    Checkpoint,
    CheckpointError,
    CosignatureVerifier,
    Cosigner,
    parse_checkpoint,
    verifier_from_vkey,
)
from gateway.trail.note import (
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    NoteError,
    Signature,
    parse_note,
    verify_note,
)
from gateway.trail.tiles import TileError, TileId, entry_bundle, parse_tile_path, tiles_for_size

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CosignatureVerifier",
    "Cosigner",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Note",
    "NoteError",
    "Signature",
    "TileError",
    "TileId",
    "entry_bundle",
    "parse_checkpoint",
    "parse_note",
    "parse_tile_path",
    "tiles_for_size",
    "verifier_from_vkey",
    "verify_note",
]
