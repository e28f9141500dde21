"""Asking witnesses to cosign each checkpoint (c2sp.org/tlog-witness, the client side).

Each witness gets `old <size it last cosigned>`, a consistency proof from that size, and the signed
checkpoint; it answers with a timestamped cosignature (c2sp.org/tlog-cosignature), which is checked
with the witness's key before it is added to the published note. A 409 tells us the size the
witness really holds, and we try once more from there. A witness that finds our checkpoint
inconsistent with what it cosigned before (422), or holds a larger tree of ours than we have, has
seen a fork or rollback of this log: that is an alarm (ERROR log, gauge), not a retry.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import requests

from gateway.errors import ConfigurationError
from gateway.i18n.text import Text
from gateway.trail.checkpoint import CosignatureVerifier, verifier_from_vkey
from gateway.trail.note import NoteError, Signature, format_note, parse_note, verify_note

log = logging.getLogger(__name__)
ProofSource = Callable[[int, int], list[bytes]]  # (old size, new size) -> consistency proof
SizeSource = Callable[[], int]  # the log's current size


@dataclass(frozen=True)
class WitnessConfig:
    name: str
    url: str  # the submission prefix; requests go to <url>/add-checkpoint
    verifier: CosignatureVerifier


def parse_witnesses(entries: Sequence[str]) -> list[WitnessConfig]:
    """NSW_WITNESSES entries `<name> <url> <vkey>`; the vkey must be a cosignature key (0x04)
    named as the witness."""
    witnesses = []
    for entry in entries:
        parts = entry.split()
        if len(parts) != 3:
            raise ConfigurationError(
                Text("NSW_WITNESSES entry %(entry)r is not '<name> <url> <vkey>'", entry=entry)
            )
        name, url, vkey = parts
        try:
            verifier = verifier_from_vkey(vkey)
        except NoteError as exc:
            raise ConfigurationError(Text("witness %(name)s: %(exc)s", name=name, exc=exc)) from exc
        if not isinstance(verifier, CosignatureVerifier) or verifier.name != name:
            raise ConfigurationError(
                Text(
                    "witness %(name)s: its vkey must be a cosignature key (type 0x04) named "
                    "%(name)s",
                    name=name,
                )
            )
        witnesses.append(WitnessConfig(name, url.rstrip("/"), verifier))
    return witnesses


class WitnessRefused(Exception):
    """The witness says our checkpoint is inconsistent with what it cosigned: a fork alarm."""


@dataclass
class Witnesses:
    configs: list[WitnessConfig]
    quorum: int
    timeout_s: float = 5.0
    seen: dict[str, int] = field(default_factory=dict)  # witness -> size it last cosigned
    alarms: dict[str, str] = field(default_factory=dict)  # witness -> why it refused (fork)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cosign(
        self, note: str, size: int, proof: ProofSource, log_size: SizeSource
    ) -> tuple[str, bool]:
        """(note with every verified cosignature added, whether `quorum` of them arrived)."""
        parsed = parse_note(note)
        gathered: list[Signature] = []
        with self._lock:
            for witness in self.configs:
                try:
                    gathered += self._ask(witness, parsed.text, note, size, proof, log_size)
                    self.alarms.pop(witness.name, None)
                except WitnessRefused as exc:
                    self.alarms[witness.name] = str(exc)
                    log.error("witness %s refuses checkpoint %d: %s", witness.name, size, exc)
                except (requests.RequestException, NoteError, ValueError) as exc:
                    log.warning(
                        "witness %s gave no cosignature for %d: %s", witness.name, size, exc
                    )
        enough = len(gathered) >= self.quorum
        if not enough:
            log.error(
                "checkpoint %d has %d of %d cosignatures needed", size, len(gathered), self.quorum
            )
        return format_note(parsed.text, [*parsed.signatures, *gathered]), enough

    def _ask(
        self,
        witness: WitnessConfig,
        text: str,
        note: str,
        size: int,
        proof: ProofSource,
        log_size: SizeSource,
    ) -> list[Signature]:
        old = min(self.seen.get(witness.name, 0), size)
        for _attempt in range(2):
            answer = self._post(witness, old, note, size, proof)
            if answer.status_code == 409 and answer.text.strip().isdigit():
                held = int(answer.text.strip())
                if held > log_size():
                    raise WitnessRefused(
                        f"it holds a checkpoint of size {held}, larger than the log "
                        f"({log_size()}): the log was rolled back"
                    )
                if held > size:  # another node's newer checkpoint got there first: not a fork
                    self.seen[witness.name] = held
                    raise ValueError(f"it already holds the newer size {held}")
                old = held
                continue
            if answer.status_code == 422:
                raise WitnessRefused(answer.text.strip()[:300] or "inconsistent checkpoint")
            if answer.status_code != 200:
                raise ValueError(f"HTTP {answer.status_code}: {answer.text.strip()[:200]}")
            # The answer is signature lines: read them as a note over our checkpoint text.
            _note, verified = verify_note(text + "\n" + answer.text, [witness.verifier])
            self.seen[witness.name] = size
            return list(verified.signatures)
        raise ValueError("the witness keeps changing its size")

    def _post(
        self, witness: WitnessConfig, old: int, note: str, size: int, proof: ProofSource
    ) -> requests.Response:
        hashes = proof(old, size) if 0 < old < size else []
        lines = [f"old {old}", *(base64.b64encode(h).decode("ascii") for h in hashes)]
        body = "\n".join(lines) + "\n\n" + note
        return requests.post(
            f"{witness.url}/add-checkpoint", data=body.encode("utf-8"), timeout=self.timeout_s
        )
