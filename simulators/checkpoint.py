"""A checkpoint simulator: the devices of an electronic checkpoint (and transit trackers) as a real
process that drives trucks through the six stages and along a corridor, reporting to the gateway.

    python -m simulators.checkpoint --gateway URL --pki certs/dev [--checkpoint KZ-DOSTYK] \\
        --truck 123ABC02 --truck 512KTC08:mass=44900 --truck 777XYZ01:radiation=alarm,lane=L2 \\
        [--stage-seconds 0.5] [--transit 512KTC08 --fixes 12 --deviation-km 45]

Any checkpoint of mappings/checkpoints.toml can be driven (default KZ-NURZHOLY); its six devices
are the ones the mapping binds to it. A transit follows the corridor that starts at that checkpoint
unless --corridor names a file. An entry outside the checkpoint's working hours is refused by the
gateway (`checkpoint-closed`), and the truck is reported as "refused".

Truck options (after the colon, comma-separated): mass=KG, axles=N, radiation=alarm, scanner=anomaly,
documents=invoice+cmr, lane=L1, exit-tries=N. With --exit-only the trucks only pass the exit
(a truck held there, e.g. until its customs payments are paid, is read again). Each stage is printed as it happens. Devices sign every
request (RFC 9421 HTTP Message Signatures, profile in wsdl/checkpoint/device-events.openapi.json)
with the key of their dev certificate. Like the agency simulators, this shares nothing with the
gateway package: only the contracts, the certificates and mappings/ (devices, corridors).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import MappingKeyResolver

from simulators.security import default_pki_dir

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("entry", "radiation", "parameters", "scan", "documents", "exit")
TAG = "nsw-device"  # the devices' RFC 9421 tag; the gateway refuses a trader's "nsw-trader" here
_print_lock = threading.Lock()


def say(text: str) -> None:
    with _print_lock:
        print(f"{dt.datetime.now():%H:%M:%S.%f}"[:-4] + f"  {text}", flush=True)


@dataclass
class _Message:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


class SignedDevice:
    """One device: its certificate's key signs method, path, query and Content-Digest."""

    def __init__(self, gateway: str, pki: Path, slug: str) -> None:
        self.gateway, self.slug = gateway, slug
        key = serialization.load_pem_private_key((pki / f"{slug}.key").read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SystemExit(f"{slug}: device keys are P-256")
        self.key = key
        cert = x509.load_pem_x509_certificate((pki / f"{slug}.pem").read_bytes())
        self.keyid = cert.fingerprint(hashes.SHA256()).hex()
        self.session = requests.Session()

    def post(self, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        body = json.dumps(payload).encode()
        message = _Message("POST", f"{self.gateway}{path}", {"Content-Type": "application/json"})
        now = dt.datetime.now(dt.UTC)
        HTTPMessageSigner(
            signature_algorithm=algorithms.ECDSA_P256_SHA256,
            key_resolver=MappingKeyResolver(public_keys={}, private_keys={self.keyid: self.key}),
        ).sign(
            message, key_id=self.keyid, created=now, expires=now + dt.timedelta(seconds=60),
            nonce=secrets.token_urlsafe(18), label="nsw", tag=TAG,
            covered_component_ids=("@method", "@path", "@query", "content-digest"), body=body,
        )  # fmt: skip
        response = self.session.post(message.url, data=body, headers=message.headers, timeout=30)
        return response.status_code, response.json()


@dataclass
class Truck:
    plate: str
    lane: str = "L1"
    mass: float = 36400
    axles: int = 5
    radiation: bool = False
    scanner: bool = False
    documents: tuple[str, ...] = ("invoice", "cmr")
    exit_tries: int = 20

    @classmethod
    def parse(cls, text: str) -> Truck:
        plate, _, opts = text.partition(":")
        truck = cls(plate)
        for option in filter(None, opts.split(",")):
            name, _, value = option.partition("=")
            if name == "mass":
                truck.mass = float(value)
            elif name == "axles":
                truck.axles = int(value)
            elif name == "radiation":
                truck.radiation = value == "alarm"
            elif name == "scanner":
                truck.scanner = value == "anomaly"
            elif name == "documents":
                truck.documents = tuple(value.split("+"))
            elif name == "lane":
                truck.lane = value
            elif name == "exit-tries":
                truck.exit_tries = int(value)
            else:
                raise SystemExit(f"unknown truck option {name!r}")
        return truck

    def readings(self, stage: str) -> dict[str, Any]:
        per_axle = self.mass / self.axles
        readings: dict[str, dict[str, Any]] = {
            "entry": {"confidence": 0.97},
            "radiation": {"alarm": self.radiation, "dose_usv_h": 2.4 if self.radiation else 0.11,
                          "background_usv_h": 0.10},
            "parameters": {"gross_mass_kg": self.mass, "axle_loads_kg": [round(per_axle)] * self.axles,
                           "length_m": 16.4, "width_m": 2.55, "height_m": 3.9},
            "scan": {"anomaly": self.scanner} | ({"note": "density anomaly, load 2"} if self.scanner else {}),
            "documents": {"presented": list(self.documents)},
            "exit": {},
        }  # fmt: skip
        return readings[stage]


def drive(truck: Truck, devices: dict[str, SignedDevice], checkpoint: str, stage_s: float,
          stages: tuple[str, ...] = STAGES) -> str:  # fmt: skip
    """Take one truck through the six stages (or `stages`); returns the last status."""
    status = "?"
    for stage in stages:
        tries = truck.exit_tries if stage == "exit" else 1
        for attempt in range(tries):
            code, answer = devices[stage].post("/api/v1/checkpoint/events", {
                "event_id": f"{checkpoint}-{truck.plate}-{stage}-{secrets.token_hex(4)}",
                "checkpoint": checkpoint, "stage": stage, "lane": truck.lane, "plate": truck.plate,
                "measured_at": dt.datetime.now(dt.UTC).isoformat(), "readings": truck.readings(stage),
            })  # fmt: skip
            if code >= 400:
                say(
                    f"[{truck.lane}] {truck.plate:<9} {stage:<10} REFUSED {code}: {answer.get('detail')}"
                )
                return "refused"
            status = answer["status"]
            direction = answer.get("direction") or {}
            where = (
                f" -> lane {direction.get('lane')} ({direction.get('agency')}): {direction.get('why')}"
                if direction
                else ""
            )
            say(f"[{truck.lane}] {truck.plate:<9} {stage:<10} {status}{where}")
            if stage == "exit" and status == "wait" and attempt + 1 < tries:
                time.sleep(stage_s)
                continue
            break
        if status == "open-barrier":
            say(f"[{truck.lane}] {truck.plate:<9} barrier opened (signed command received)")
        if status in ("manual", "directed") and stage == "exit":
            break
        time.sleep(stage_s)
    return status


def run_transit(tracker: SignedDevice, plate: str, corridor: Path, fixes: int, deviation_km: float,
                fix_s: float, seal_open_at: int | None, track_hours: float) -> None:  # fmt: skip
    """Fixes along the corridor's waypoints (linear in lon/lat: good enough for a simulator), the
    middle one shifted `deviation_km` north when asked. The journey is replayed quickly: fix i is
    dated so that the fixes span the last `track_hours` hours, at a truck's pace, never in the
    future (the gateway refuses fixes from the future and impossible speeds)."""
    points = tomllib.loads(corridor.read_text())["waypoints"]
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=track_hours)
    step = dt.timedelta(hours=track_hours) / max(fixes - 1, 1)
    for i in range(fixes):
        f = i / max(fixes - 1, 1) * 0.999 * (len(points) - 1)
        a, b = points[int(f)], points[int(f) + 1]
        lat = a[0] + (b[0] - a[0]) * (f - int(f))
        lon = a[1] + (b[1] - a[1]) * (f - int(f))
        if deviation_km and i == fixes // 2:
            lat += deviation_km / 111.0
        seal = "open" if seal_open_at is not None and i >= seal_open_at else "closed"
        code, answer = tracker.post("/api/v1/checkpoint/positions", {
            "event_id": f"gnss-{plate}-{secrets.token_hex(6)}", "plate": plate,
            "at": (start + step * i).isoformat(), "lat": round(lat, 5), "lon": round(lon, 5), "seal": seal,
        })  # fmt: skip
        alerts = (
            ", ".join(a["kind"] for a in answer.get("alerts", []))
            if code < 400
            else answer.get("detail")
        )
        say(
            f"[GNSS] {plate:<9} fix {i + 1}/{fixes} ({lat:.2f}, {lon:.2f}) seal {seal}: {code} {alerts or 'ok'}"
        )
        time.sleep(fix_s)


def corridor_from(checkpoint: str) -> Path:
    """The corridor file whose entry is `checkpoint`."""
    for path in sorted((ROOT / "mappings" / "corridors").glob("*.toml")):
        if tomllib.loads(path.read_text())["entry_checkpoint"] == checkpoint:
            return path
    raise SystemExit(f"No corridor starts at {checkpoint}; name one with --corridor.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.checkpoint", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--pki", type=Path, help="default: NSW_PKI_DIR, else $NSW_HOME/pki")
    parser.add_argument("--checkpoint", default="KZ-NURZHOLY")
    parser.add_argument("--truck", action="append", default=[], type=Truck.parse)
    parser.add_argument("--stage-seconds", type=float, default=0.5)
    parser.add_argument(
        "--exit-only",
        action="store_true",
        help="only the exit stage, for trucks already through the first five (e.g. after payment)",
    )
    parser.add_argument("--transit", help="plate of a vehicle in transit to track")
    parser.add_argument(
        "--corridor", type=Path, help="default: the corridor that starts at --checkpoint"
    )
    parser.add_argument("--fixes", type=int, default=10)
    parser.add_argument("--fix-seconds", type=float, default=0.2)
    parser.add_argument("--deviation-km", type=float, default=0.0)
    parser.add_argument("--track-hours", type=float, default=14.0)
    parser.add_argument(
        "--seal-open-at", type=int, default=None, help="fix index from which the seal is open"
    )
    args = parser.parse_args(argv)

    mapping = tomllib.loads((ROOT / "mappings" / "checkpoints.toml").read_text())
    if args.checkpoint not in mapping["checkpoints"]:
        raise SystemExit(
            f"There is no checkpoint {args.checkpoint} in mappings/checkpoints.toml; known: "
            f"{', '.join(sorted(mapping['checkpoints']))}."
        )
    slugs = mapping["checkpoints"][args.checkpoint]["devices"]
    missing = [stage for stage in STAGES if stage not in slugs]
    if missing and args.truck:
        raise SystemExit(f"{args.checkpoint} has no device for {', '.join(missing)}.")
    pki = args.pki or default_pki_dir()
    devices = {
        stage: SignedDevice(args.gateway, pki, slugs[stage]) for stage in STAGES if stage in slugs
    }
    results: dict[str, str] = {}
    lanes: dict[str, list[Truck]] = {}
    for truck in args.truck:
        lanes.setdefault(truck.lane, []).append(truck)

    def run_lane(trucks: list[Truck]) -> None:
        for truck in trucks:
            stages = ("exit",) if args.exit_only else STAGES
            results[truck.plate] = drive(
                truck, devices, args.checkpoint, args.stage_seconds, stages
            )

    threads = [threading.Thread(target=run_lane, args=(t,)) for t in lanes.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if args.transit:
        tracker = SignedDevice(args.gateway, pki, mapping["trackers"]["devices"][0])
        corridor = args.corridor or corridor_from(args.checkpoint)
        run_transit(tracker, args.transit, corridor, args.fixes, args.deviation_km,
                    args.fix_seconds, args.seal_open_at, args.track_hours)  # fmt: skip
    print(json.dumps({"results": results}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
