"""A stand-in witness (c2sp.org/tlog-witness): `POST /add-checkpoint` cosigns a log's checkpoint
when it is consistent with the latest one the witness cosigned for that origin.

It is the other side of the wire, so its signed-note, checkpoint, cosignature and Merkle code is
written here again from the specs and imports nothing from `gateway`. Its state (the latest
checkpoint per origin) is a JSON file, replaced atomically, checked and updated under one lock so
two requests cannot roll it back (tlog-witness § add-checkpoint).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask, Response, request
from werkzeug.serving import make_server

from simulators.common import stop_event_on_signals
from simulators.server import ServingThread

EMPTY_ROOT = hashlib.sha256(b"").digest()


class Refused(Exception):
    def __init__(self, status: int, text: str, content_type: str = "text/plain") -> None:
        super().__init__(text)
        self.status, self.text, self.content_type = status, text, content_type


@dataclass(frozen=True)
class LogKey:
    """A log the witness follows: its Ed25519 note key (vkey type 0x01), named by the origin."""

    name: str
    key_id: bytes
    public: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> LogKey:
        name, key_id, material = vkey.strip().split("+", 2)
        raw = base64.b64decode(material)
        if raw[0] != 0x01 or len(raw) != 33:
            raise ValueError(f"{name}: not an Ed25519 note key")
        return cls(name, bytes.fromhex(key_id), raw[1:])


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def consistent(old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, for 0 < old < new."""
    if not proof or any(len(p) != 32 for p in proof):
        return False
    if old & (old - 1) == 0:
        proof = [old_root, *proof]
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


@dataclass
class Witness:
    name: str
    key: Ed25519PrivateKey
    logs: dict[str, LogKey]  # origin -> the log's key
    state_path: Path
    clock: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def public(self) -> bytes:
        return self.key.public_key().public_bytes_raw()

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.name.encode() + b"\n\x04" + self.public).digest()[:4]

    @property
    def vkey(self) -> str:
        material = base64.b64encode(b"\x04" + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def latest(self) -> dict[str, dict[str, object]]:
        try:
            state: dict[str, dict[str, object]] = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return {}
        return state

    def add_checkpoint(self, body: bytes) -> str:
        """The cosignature line for a valid request; `Refused` with the spec's status otherwise."""
        # Step 1: the request is `old <n>`, proof lines, a blank line, then the signed checkpoint.
        try:
            head, note = body.decode("utf-8").split("\n\n", 1)
            first, *proof_lines = head.split("\n")
            if not first.startswith("old "):
                raise ValueError("no old size line")
            old = int(first[4:])
            proof = [base64.b64decode(line, validate=True) for line in proof_lines]
            text, signatures = _split_note(note)
            origin, size_line, root_line = text.split("\n")[:3]
            size, root = int(size_line), base64.b64decode(root_line, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise Refused(400, f"malformed request: {exc}") from exc
        if len(proof) > 63:
            raise Refused(400, "more than 63 proof lines")
        # Step 2: a known log, and its signature verifies.
        log = self.logs.get(origin)
        if log is None:
            raise Refused(404, f"unknown log {origin}")
        _check_log_signature(log, text, signatures)
        if old > size:
            raise Refused(400, f"old size {old} is larger than the checkpoint's {size}")
        with self._lock:
            # Step 3: the old size is the latest one cosigned, else 409 with that size.
            state = self.latest()
            seen = state.get(origin)
            seen_size = int(str(seen["size"])) if seen else 0
            if old != seen_size:
                raise Refused(409, f"{seen_size}\n", "text/x.tlog.size")
            # Step 4: the new checkpoint extends it.
            if size == 0 and root != EMPTY_ROOT:
                raise Refused(422, "a checkpoint of size 0 must have the empty root")
            if old == 0:
                if proof:
                    raise Refused(422, "a proof from size 0 must be empty")
            else:
                seen_root = base64.b64decode(str(seen["root"])) if seen else b""
                same = old == size and not proof and root == seen_root
                if not same and (old == size or not consistent(old, size, seen_root, root, proof)):
                    raise Refused(422, f"not consistent with the cosigned size {old}")
            # Step 5: remember it before answering, then cosign.
            state[origin] = {"size": size, "root": base64.b64encode(root).decode()}
            _replace(self.state_path, json.dumps(state).encode())
        return self._cosign(text)

    def _cosign(self, text: str) -> str:
        now = int(self.clock())
        signed = self.key.sign(f"cosignature/v1\ntime {now}\n".encode() + text.encode())
        blob = base64.b64encode(self.key_id + struct.pack(">Q", now) + signed).decode()
        return f"\u2014 {self.name} {blob}\n"


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    text, _, block = note.rpartition("\n\n")
    if not text or not block.endswith("\n"):
        raise ValueError("not a signed note")
    signatures = []
    for line in block[:-1].split("\n"):
        dash, name, blob = line.split(" ")
        if dash != "\u2014":
            raise ValueError("bad signature line")
        signatures.append((name, base64.b64decode(blob, validate=True)))
    return text + "\n", signatures


def _check_log_signature(log: LogKey, text: str, signatures: list[tuple[str, bytes]]) -> None:
    verified = False
    for name, blob in signatures:
        if name != log.name or blob[:4] != log.key_id:
            continue  # another key: ignored (signed-note)
        try:
            Ed25519PublicKey.from_public_bytes(log.public).verify(blob[4:], text.encode())
        except InvalidSignature as exc:
            raise Refused(403, "the log's signature does not verify") from exc
        verified = True
    if not verified:
        raise Refused(403, "no signature by the log's key")


def _replace(path: Path, data: bytes) -> None:
    staged = path.with_name(path.name + ".tmp")
    with open(staged, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staged, path)


def create_app(witness: Witness) -> Flask:
    app = Flask(__name__)

    @app.post("/add-checkpoint")
    def add_checkpoint() -> Response:
        try:
            line = witness.add_checkpoint(request.get_data())
        except Refused as refused:
            return Response(refused.text, refused.status, content_type=refused.content_type)
        return Response(line, 200, content_type="text/plain; charset=utf-8")

    return app


class RunningWitness(ServingThread):
    def __init__(self, witness: Witness, server: object) -> None:
        super().__init__(server, f"witness-{witness.name}")  # type: ignore[arg-type]
        self.witness = witness


def start_witness(
    name: str, log_vkeys: list[str], state_path: Path, port: int = 0
) -> RunningWitness:
    """A witness on 127.0.0.1 with a new key, following the logs of `log_vkeys`."""
    logs = {key.name: key for key in map(LogKey.from_vkey, log_vkeys)}
    witness = Witness(name, Ed25519PrivateKey.generate(), logs, state_path)
    server = make_server("127.0.0.1", port, create_app(witness), threaded=True)
    return RunningWitness(witness, server)


def load_or_make_key(path: Path) -> Ed25519PrivateKey:
    """The witness's Ed25519 key from `path` (PKCS#8 PEM), made and written (0600) when missing,
    so a restarted witness keeps the identity the gateway was configured with."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


def main(argv: list[str] | None = None) -> int:
    """`python -m simulators witness --log-vkey FILE [--name N] [--port P] [--key-file F]
    [--state-dir D] [--vkey-file F]`: one witness as its own process. It prints its vkey (and
    writes it to `--vkey-file`, before it listens) for the gateway's NSW_WITNESSES."""
    parser = argparse.ArgumentParser(prog="python -m simulators witness", description=main.__doc__)
    parser.add_argument("--name", default="demo-witness", help="its key name (no spaces, no '+')")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log-vkey", type=Path, action="append", required=True,
                        help="a file holding the vkey of a log to follow (repeatable)")  # fmt: skip
    parser.add_argument("--key-file", type=Path, default=None,
                        help="its Ed25519 key (PEM), made if missing [<state-dir>/<name>.key]")  # fmt: skip
    parser.add_argument("--state-dir", type=Path, default=Path("."))
    parser.add_argument("--vkey-file", type=Path, default=None)
    args = parser.parse_args(argv)

    stop = stop_event_on_signals()
    args.state_dir.mkdir(parents=True, exist_ok=True)
    key = load_or_make_key(args.key_file or args.state_dir / f"{args.name}.key")
    logs = {k.name: k for k in (LogKey.from_vkey(p.read_text()) for p in args.log_vkey)}
    witness = Witness(args.name, key, logs, args.state_dir / f"{args.name}.json")
    if args.vkey_file is not None:
        # Written before the port is open: once it answers, the vkey is there to read.
        _replace(args.vkey_file, (witness.vkey + "\n").encode())
    server = make_server(args.host, args.port, create_app(witness), threaded=True)
    running = RunningWitness(witness, server)
    print(f"witness {args.name} listening on {running.url}", flush=True)
    print(f"vkey {witness.vkey}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        running.stop()
    print(f"witness {args.name} stopped", flush=True)
    return 0
