"""Checkpoints and their devices, from mappings/checkpoints.toml and the PKI directory.

A device is known by the SHA-256 fingerprint of its certificate (the RFC 9421 `keyid`) and bound
to one checkpoint and one stage, or to transit tracking. A device whose certificate file is missing
is left out (and so refused as unknown) rather than stopping the gateway.

A checkpoint has working hours: "24/7", or daily windows of local time at a fixed UTC offset (the
offset the source states the hours in). Outside them the checkpoint registers no entry.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from gateway.errors import ConfigurationError
from gateway.i18n.text import Text
from wire import certificates

log = logging.getLogger(__name__)
STAGES = ("entry", "radiation", "parameters", "scan", "documents", "exit")
TRACKER = "tracker"


_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_OFFSET = re.compile(r"^([+-])(\d\d):(\d\d)$")


@dataclass(frozen=True)
class WorkingHours:
    """Daily windows [opens, closes) in minutes after local midnight, at `tz` (a fixed UTC offset).
    No windows means open around the clock."""

    windows: tuple[tuple[int, int], ...] = ()
    tz: dt.tzinfo = dt.UTC
    text: str = "24/7"

    def is_open(self, at: dt.datetime) -> bool:
        if not self.windows:
            return True
        local = at.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        return any(opens <= minute < closes for opens, closes in self.windows)

    def next_opening(self, at: dt.datetime) -> dt.datetime:
        """The first moment at or after `at` when the checkpoint is open (UTC)."""
        if self.is_open(at):
            return at
        local = at.astimezone(self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for day in (0, 1):
            for opens, _ in self.windows:
                moment = midnight + dt.timedelta(days=day, minutes=opens)
                if moment > local:
                    return moment.astimezone(dt.UTC)
        raise AssertionError("a day always has a next opening when windows exist")


def parse_hours(where: str, raw: Any) -> WorkingHours:
    """`"24/7"` or `{utc_offset = "+08:00", windows = ["10:30-14:00", ...]}`; anything else is a
    ConfigurationError naming `where`."""
    if raw is None or raw == "24/7":
        return WorkingHours()
    if not isinstance(raw, dict) or not raw.get("windows"):
        raise ConfigurationError(
            Text(
                '%(where)s: hours must be "24/7" or a table with utc_offset and windows, not %(raw)r.',
                where=where,
                raw=raw,
            )
        )
    offset = _OFFSET.match(str(raw.get("utc_offset", "")))
    if offset is None:
        raise ConfigurationError(
            Text(
                "%(where)s: utc_offset must look like +05:00, not %(utc_offset)r.",
                where=where,
                utc_offset=raw.get("utc_offset"),
            )
        )
    sign = 1 if offset[1] == "+" else -1
    tz = dt.timezone(sign * dt.timedelta(hours=int(offset[2]), minutes=int(offset[3])))
    windows = []
    for text in raw["windows"]:
        m = _WINDOW.match(str(text))
        opens, closes = (int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])) if m else (0, 0)
        if m is None or opens >= closes or closes > 24 * 60:
            raise ConfigurationError(
                Text(
                    "%(where)s: the working-hours window %(text)r is not HH:MM-HH:MM with opening "
                    "first.",
                    where=where,
                    text=text,
                )
            )
        windows.append((opens, closes))
    windows.sort()
    text = ", ".join(str(w) for w in raw["windows"]) + f" (UTC{raw['utc_offset']})"
    return WorkingHours(tuple(windows), tz, text)


@dataclass(frozen=True)
class Checkpoint:
    code: str
    name: str
    lat: float | None  # None: no sourced position (the mapping says why)
    lon: float | None
    lanes: tuple[str, ...]
    manual_lane: str
    devices: dict[str, str]  # stage -> device slug
    hours: WorkingHours = field(default_factory=WorkingHours)
    # True: lat/lon were recalled, not found in a source (R); the OMC map draws them as approximate.
    position_unconfirmed: bool = False


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
        raise ConfigurationError(
            Text("The checkpoint mapping %(path)s cannot be read: %(exc)s", path=path, exc=exc)
        ) from exc
    if tuple(raw.get("stages", ())) != STAGES:
        raise ConfigurationError(
            Text("%(path)s: stages must be exactly %(list)s", path=path, list=", ".join(STAGES))
        )
    checkpoints: dict[str, Checkpoint] = {}
    bindings: list[tuple[str, str, str]] = []  # slug, checkpoint, stage
    for code, entry in raw.get("checkpoints", {}).items():
        devices = dict(entry.get("devices", {}))
        unknown = set(devices) - set(STAGES)
        if unknown:
            raise ConfigurationError(
                Text(
                    "%(path)s: %(code)s names unknown stages %(list)s",
                    path=path,
                    code=code,
                    list=sorted(unknown),
                )
            )
        position = entry.get("lat"), entry.get("lon")
        if (position[0] is None) != (position[1] is None):
            raise ConfigurationError(
                Text(
                    "%(path)s: %(code)s has one of lat and lon; give both or neither.",
                    path=path,
                    code=code,
                )
            )
        if entry.get("position", "sourced") not in ("sourced", "unconfirmed"):
            raise ConfigurationError(
                Text(
                    "%(path)s: %(code)s: position must be sourced or unconfirmed.",
                    path=path,
                    code=code,
                )
            )
        checkpoints[code] = Checkpoint(
            code=code,
            name=str(entry["name"]),
            lat=None if position[0] is None else float(position[0]),
            lon=None if position[1] is None else float(position[1]),
            lanes=tuple(entry["lanes"]),
            manual_lane=str(entry["manual_lane"]),
            devices=devices,
            hours=parse_hours(f"{path}: {code}", entry.get("hours")),
            position_unconfirmed=entry.get("position") == "unconfirmed",
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
                Text(
                    "Device %(slug)s: %(cert_path)s holds no readable certificate: %(exc)s",
                    slug=slug,
                    cert_path=cert_path,
                    exc=exc,
                )
            ) from exc
        device = Device(slug, code, stage, cert)
        devices_by_key[device.keyid] = device
    return CheckpointRegistry(checkpoints, devices_by_key)
