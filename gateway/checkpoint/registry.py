"""Checkpoints and their devices, from mappings/checkpoints.toml and the PKI directory.

A device is known by the SHA-256 fingerprint of its certificate (the RFC 9421 `keyid`) and bound
to one checkpoint and one stage, or to transit tracking. A device whose certificate file is missing
is left out (and so refused as unknown) rather than stopping the gateway.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from gateway.errors import ConfigurationError
from wire import certificates

log = logging.getLogger(__name__)
STAGES = ("entry", "radiation", "parameters", "scan", "documents", "exit")
TRACKER = "tracker"


@dataclass(frozen=True)
class Checkpoint:
    code: str
    name: str
    lat: float
    lon: float
    lanes: tuple[str, ...]
    manual_lane: str
    devices: dict[str, str]  # stage -> device slug


@dataclass(frozen=True)
class Device:
    slug: str
    checkpoint: str  # "" for a tracker
    stage: str  # one of STAGES, or TRACKER
    certificate: x509.Certificate

    @property
    def keyid(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()


@dataclass(frozen=True)
class CheckpointRegistry:
    checkpoints: dict[str, Checkpoint]
    devices: dict[str, Device]  # keyid -> device

    def checkpoint(self, code: str) -> Checkpoint | None:
        return self.checkpoints.get(code)

    def device(self, keyid: str) -> Device | None:
        return self.devices.get(keyid.lower())

    def device_by_slug(self, slug: str) -> Device | None:
        return next((d for d in self.devices.values() if d.slug == slug), None)


def load_registry(path: Path, pki_dir: Path) -> CheckpointRegistry:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"The checkpoint mapping {path} cannot be read: {exc}") from exc
    if tuple(raw.get("stages", ())) != STAGES:
        raise ConfigurationError(f"{path}: stages must be exactly {', '.join(STAGES)}")
    checkpoints: dict[str, Checkpoint] = {}
    bindings: list[tuple[str, str, str]] = []  # slug, checkpoint, stage
    for code, entry in raw.get("checkpoints", {}).items():
        devices = dict(entry.get("devices", {}))
        unknown = set(devices) - set(STAGES)
        if unknown:
            raise ConfigurationError(f"{path}: {code} names unknown stages {sorted(unknown)}")
        checkpoints[code] = Checkpoint(
            code=code,
            name=str(entry["name"]),
            lat=float(entry["lat"]),
            lon=float(entry["lon"]),
            lanes=tuple(entry["lanes"]),
            manual_lane=str(entry["manual_lane"]),
            devices=devices,
        )
        bindings += [(slug, code, stage) for stage, slug in devices.items()]
    bindings += [(slug, "", TRACKER) for slug in raw.get("trackers", {}).get("devices", [])]
    devices_by_key: dict[str, Device] = {}
    for slug, code, stage in bindings:
        cert_path = Path(pki_dir) / f"{slug}.pem"
        if not cert_path.is_file():
            log.warning(
                "checkpoint device %s has no certificate at %s; it is refused", slug, cert_path
            )
            continue
        try:
            cert = certificates.certificate_from_pem(cert_path.read_bytes())
        except certificates.UnreadableCertificate as exc:
            raise ConfigurationError(
                f"Device {slug}: {cert_path} holds no readable certificate: {exc}"
            ) from exc
        device = Device(slug, code, stage, cert)
        devices_by_key[device.keyid] = device
    return CheckpointRegistry(checkpoints, devices_by_key)
