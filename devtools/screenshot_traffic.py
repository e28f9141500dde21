"""Vehicles for `nsw omc screenshots`: so that the checkpoints and movements pictures show the
floor at work, the carrier notifies trucks in advance and the checkpoint simulator (a real process,
its devices signing with their dev certificates) drives them through Nur Zholy: one leaves by the
automatic barrier, one is held at the weighbridge, one at the radiation portal, one came without a
notice and waits in the manual lane, and one leaves in monitored transit, strays off the corridor and
opens its seal. The operator acknowledges the first alert, so both states are shown."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import requests

from devtools.checkpoint_traffic import arrival_notice
from devtools.payments_demo import settle_in_full
from gateway.bootstrap import Services
from gateway.cli.client import GatewayClient
from gateway.omc.actions import acknowledge_alert
from gateway.omc.roles import Officer, Role
from gateway.pki.dev import DevPki
from gateway.resources import shipped
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped

log = logging.getLogger(__name__)
CARRIER = "trader-kaztrans"  # KazTrans Carrier LLP
CORRIDOR = "china-uzbekistan"
IN_TRANSIT = "345TRN05"
# plate, sample lodged for it (None: no notice at all), declared gross mass, simulator options
TRUCKS = (
    ("123ABC02", "fresh-apples-import", 36200, "lane=L1"),
    ("512KTC08", "overweight-machinery-transit", 41800, "lane=L2,mass=44900"),
    ("777XYZ01", "fresh-apples-import", 36200, "lane=L3,radiation=alarm"),
    ("999ZZZ01", None, 0, "lane=L4"),
    (IN_TRANSIT, "fresh-apples-import", 36200, "lane=L1"),
)
SIGNERS = {"fresh-apples-import": "trader-steppe", "overweight-machinery-transit": CARRIER}


def put_vehicles_on_the_floor(url: str, pki: DevPki, services: Services, work: Path) -> None:
    """Lodge an application per notified truck, notify, drive them all, and acknowledge one
    alert. Waits until every application is decided and the transit has its alerts."""
    carrier = _identity(pki, CARRIER)
    now = dt.datetime.now(dt.UTC)
    for n, (plate, sample, declared, _) in enumerate(TRUCKS):
        if sample is None:
            continue
        application_id = _lodge(url, pki, sample, reference=f"FLOOR-{n}")
        _wait_decided(services, application_id)
        if sample == "fresh-apples-import":  # customs charges it: paid, so that it may exit
            settle_in_full(services, application_id)
        transit = plate == IN_TRANSIT
        notice = arrival_notice(
            plate,
            application_id,
            declared,
            reference=f"SHOT-{plate}-{now:%H%M%S}",
            arrival=now + dt.timedelta(hours=1),
            corridor=CORRIDOR if transit else None,
        )
        response = requests.post(
            f"{url}/api/v1/checkpoint/notices",
            data=sign_enveloped(parse_xml(notice), carrier),
            headers={"Content-Type": "application/xml"},
            timeout=30,
        )
        response.raise_for_status()
    _drive(url, pki, work)
    _acknowledge_first_alert(services)


def _drive(url: str, pki: DevPki, work: Path) -> None:
    # The simulator replays the fixes along the corridor's waypoints; giving it only the first half
    # of them leaves the truck on the way (near Kordai), not already at the exit checkpoint.
    corridor = shipped("mappings") / "corridors" / f"{CORRIDOR}.toml"
    first_half = work / "corridor-first-half.toml"
    waypoints = _waypoints(corridor)[:4]
    first_half.write_text(f"waypoints = {json.dumps(waypoints)}\n", encoding="utf-8")
    command = [sys.executable, "-m", "simulators.checkpoint", "--gateway", url,
               "--pki", str(pki.directory), "--stage-seconds", "0.2",
               "--transit", IN_TRANSIT, "--corridor", str(first_half), "--fixes", "10",
               "--track-hours", "8", "--deviation-km", "45", "--seal-open-at", "7",
               "--fix-seconds", "0.05"]  # fmt: skip
    for plate, _, _, options in TRUCKS:
        command += ["--truck", f"{plate}:{options}"]
    done = subprocess.run(
        command, cwd=work, capture_output=True, text=True, timeout=300, check=False
    )
    log.debug("checkpoint simulator:\n%s", done.stdout)
    if done.returncode != 0:
        raise RuntimeError(f"the checkpoint simulator failed ({done.returncode}): {done.stderr}")


def _acknowledge_first_alert(services: Services) -> None:
    transits = services.checkpoint.transits
    transit_id = transits.open_transit_for(IN_TRANSIT)
    found = transits.transit(transit_id) if transit_id else None
    if not found or not found.transit.alerts:
        raise RuntimeError(f"{IN_TRANSIT} is not in transit with an alert: {found}")
    operator = Officer("operator", Role.OPERATOR)
    acknowledge_alert(services, operator, found.transit.id, found.transit.alerts[0].key)


def _lodge(url: str, pki: DevPki, sample: str, *, reference: str) -> str:
    raw = (shipped("samples") / f"{sample}.xml").read_bytes()
    raw = raw.replace(b"<TraderReference>", f"<TraderReference>{reference}-".encode(), 1)
    signed = sign_enveloped(parse_xml(raw), _identity(pki, SIGNERS[sample]))
    return str(GatewayClient(url).submit(signed)["id"])


def _wait_decided(services: Services, application_id: str, deadline_s: float = 60) -> None:
    ends = time.monotonic() + deadline_s
    while time.monotonic() < ends:
        found = services.store.application(application_id)
        if found and found.status == "decided":
            return
        time.sleep(0.1)
    raise RuntimeError(f"{application_id} was not decided within {deadline_s} s")


def _identity(pki: DevPki, slug: str) -> SigningIdentity:
    return SigningIdentity.from_files(
        pki.key_path(slug), pki.cert_path(slug), pki.directory / "issuing-ca.pem"
    )


def _waypoints(corridor: Path) -> list[list[float]]:
    import tomllib

    waypoints: list[list[float]] = tomllib.loads(corridor.read_text(encoding="utf-8"))["waypoints"]
    return waypoints
