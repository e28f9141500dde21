"""The checkpoint part of `nsw demo`: the carrier notifies two trucks in advance, then the
checkpoint simulator (a real process) drives them through the six stages, printing each stage as it
happens: one passes to an automatic exit, one is held at the weighbridge."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from gateway.pki.dev import DevPki
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped

CARRIER = "trader-kaztrans"  # KazTrans Carrier LLP carries both road samples
# plate, sample, declared gross mass, simulator truck options, the outcome the demo expects
UNPAID = "fresh-apples-import (unpaid)"
UNPAID_PLATE = "777KZT02"
TRUCKS = (
    ("123ABC02", "fresh-apples-import", 36200, "lane=L1", "open-barrier"),
    ("512KTC08", "overweight-machinery-transit", 41800, "lane=L2,mass=44900", "directed"),
    # Granted by every agency, customs payments not paid: held in the payment lane at the exit.
    (UNPAID_PLATE, UNPAID, 36200, "lane=L1", "directed"),
)


def arrival_notice(
    plate: str,
    application_id: str,
    declared_kg: int,
    *,
    reference: str,
    arrival: dt.datetime,
    corridor: str | None = None,
) -> bytes:
    """An unsigned pre-arrival notice at Nur Zholy from the dev carrier (KazTrans), for the demo
    and `nsw omc screenshots`; with `corridor`, in transit to Zhibek Zholy under seal ES-0047."""
    route = (
        f"<Transit><Corridor>{corridor}</Corridor><ExitCheckpoint>KZ-ZHIBEKZHOLY</ExitCheckpoint>"
        "<SealId>ES-0047</SealId></Transit>"
        if corridor
        else ""
    )
    return f"""<ArrivalNotice xmlns="urn:kz:nsw:notice:1">
  <CarrierBIN>181240044780</CarrierBIN><NoticeReference>{reference}</NoticeReference>
  <Version>1</Version><Checkpoint>KZ-NURZHOLY</Checkpoint>
  <ExpectedArrival>{arrival.isoformat()}</ExpectedArrival>
  <Vehicle><Plate>{plate}</Plate><Country>KZ</Country><Axles>5</Axles>
    <DeclaredGrossMassKg>{declared_kg}</DeclaredGrossMassKg></Vehicle>
  <Driver><Name>Serik Omarov</Name><DocumentNumber>N12345678</DocumentNumber><Country>KZ</Country></Driver>
  <Applications><ApplicationId>{application_id}</ApplicationId></Applications>{route}
</ArrivalNotice>""".encode()


def run_checkpoint_demo(
    gateway_url: str,
    pki: DevPki,
    submitted: dict[str, str],
    ok: Callable[[str], None],
    bad: Callable[[str], None],
) -> int:
    failures = 0
    carrier = SigningIdentity.from_files(
        pki.key_path(CARRIER), pki.cert_path(CARRIER), pki.directory / "issuing-ca.pem"
    )
    now = dt.datetime.now(dt.UTC)
    for plate, sample, declared, _, _ in TRUCKS:
        signed = sign_enveloped(
            parse_xml(
                arrival_notice(
                    plate,
                    submitted[sample],
                    declared,
                    reference=f"DEMO-{plate}-{now:%H%M%S}",
                    arrival=now + dt.timedelta(hours=2),
                )
            ),
            carrier,
        )
        response = requests.post(
            f"{gateway_url}/api/v1/checkpoint/notices",
            data=signed,
            headers={"Content-Type": "application/xml"},
            timeout=30,
        )
        if response.status_code == 202:
            ok(f"advance notice {response.json()['id']}: {plate} carries {submitted[sample]}")
        else:
            failures += 1
            bad(f"notice for {plate}: {response.status_code} {response.text[:200]}")
    command = [sys.executable, "-m", "simulators.checkpoint", "--gateway", gateway_url,
               "--pki", str(Path(pki.directory)), "--stage-seconds", "0.3"]  # fmt: skip
    for plate, _, _, options, _ in TRUCKS:
        command += ["--truck", f"{plate}:{options}"]
    results: dict[str, str] = {}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as simulator:
        assert simulator.stdout is not None
        for line in simulator.stdout:
            if line.startswith('{"results"'):
                results = json.loads(line)["results"]
            else:
                print(f"      {line.rstrip()}", flush=True)
    if simulator.returncode != 0:
        failures += 1
        bad(f"the checkpoint simulator exited with {simulator.returncode}")
    for plate, sample, _, _, expected in TRUCKS:
        if results.get(plate) == expected:
            ok(f"{plate} ({sample}): {expected} as expected")
        else:
            failures += 1
            bad(f"{plate}: {results.get(plate)}, expected {expected}")
    return failures


def exit_again(
    gateway_url: str,
    pki: DevPki,
    plate: str,
    ok: Callable[[str], None],
    bad: Callable[[str], None],
) -> int:
    """The exit device reads the waiting truck again (the simulator's --exit-only)."""
    command = [sys.executable, "-m", "simulators.checkpoint", "--gateway", gateway_url,
               "--pki", str(Path(pki.directory)), "--exit-only", "--truck", f"{plate}:lane=L1"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    results: dict[str, str] = {}
    for line in done.stdout.splitlines():
        if line.startswith('{"results"'):
            results = json.loads(line)["results"]
        else:
            print(f"      {line}", flush=True)
    if results.get(plate) == "open-barrier":
        ok(f"{plate}: paid, released, the barrier opens")
        return 0
    bad(f"{plate}: {results.get(plate)} at the exit after payment, expected open-barrier")
    return 1
