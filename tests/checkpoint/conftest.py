"""Fixtures for the electronic checkpoint: a gateway on a real socket with a movable clock, signed
notices from the carrier, and devices that sign their events (RFC 9421) with their certificates."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization

from gateway.app import create_app
from gateway.bootstrap import Services, build_services
from gateway.checkpoint.registry import Device as RegisteredDevice
from gateway.cli.client import GatewayClient
from gateway.pki.dev import DevPki
from gateway.trust.http_signatures import DEVICE_TAG, PrivateKey, RequestView, Tag, sign_request
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped
from tests.conftest import SAMPLES, trader_identity
from tests.gateway_fixtures import gateway_config
from tests.polling import wait_until
from tests.serving import serving

OFFICER_TOKEN = "officer-token-for-tests"
CARRIER = "trader-kaztrans"  # KazTrans Carrier LLP, BIN 181240044780: carrier of both road samples
GOOD_READINGS: dict[str, dict[str, Any]] = {
    "entry": {"confidence": 0.98},
    "radiation": {"alarm": False, "dose_usv_h": 0.11, "background_usv_h": 0.10},
    "parameters": {
        "gross_mass_kg": 36400,
        "axle_loads_kg": [6500, 7900, 7300, 7400, 7300],
        "length_m": 16.4,
        "width_m": 2.55,
        "height_m": 3.9,
    },
    "scan": {"anomaly": False},
    "documents": {"presented": ["invoice", "cmr", "phytosanitary-certificate"]},
    "exit": {},
}


@dataclass
class MovableClock:
    """Real time plus an offset that tests move forward (never backwards)."""

    offset: dt.timedelta = field(default_factory=dt.timedelta)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@dataclass
class Device:
    """A checkpoint device (or tracker) that signs what it sends with its certificate's key."""

    url: str
    slug: str
    key: PrivateKey
    keyid: str
    clock: MovableClock

    def post(self, path: str, body: bytes, *, nonce: str | None = None, sign: bool = True,
             tamper: Callable[[bytes], bytes] | None = None,
             tag: Tag = DEVICE_TAG) -> requests.Response:  # fmt: skip
        headers: dict[str, str] = {"Content-Type": "application/json"}
        if sign:
            view = RequestView("POST", f"{self.url}{path}", headers)
            sign_request(view, self.key, self.keyid, tag=tag, now=self.clock(), body=body,
                         nonce=nonce)  # fmt: skip
        sent = tamper(body) if tamper else body
        return requests.post(f"{self.url}{path}", data=sent, headers=headers, timeout=30)

    def event(self, stage: str, plate: str, *, readings: dict[str, Any] | None = None,
              lane: str = "L1", checkpoint: str = "KZ-NURZHOLY", event_id: str | None = None,
              **kwargs: Any) -> requests.Response:  # fmt: skip
        body = json.dumps({
            "event_id": event_id or f"ev-{secrets.token_hex(8)}", "checkpoint": checkpoint,
            "stage": stage, "lane": lane, "plate": plate,
            "measured_at": self.clock().isoformat(),
            "readings": GOOD_READINGS[stage] if readings is None else readings,
        }).encode()  # fmt: skip
        return self.post("/api/v1/checkpoint/events", body, **kwargs)

    def position(self, plate: str, lat: float, lon: float, *, seal: str = "closed",
                 at: dt.datetime | None = None, event_id: str | None = None) -> requests.Response:  # fmt: skip
        body = json.dumps({
            "event_id": event_id or f"gnss-{secrets.token_hex(8)}", "plate": plate,
            "at": (at or self.clock()).isoformat(), "lat": lat, "lon": lon, "seal": seal,
        }).encode()  # fmt: skip
        return self.post("/api/v1/checkpoint/positions", body)


STAGE_DEVICES = {
    "entry": "device-nurzholy-anpr",
    "radiation": "device-nurzholy-radiation",
    "parameters": "device-nurzholy-wim",
    "scan": "device-nurzholy-xray",
    "documents": "device-nurzholy-docs",
    "exit": "device-nurzholy-exit",
}


@dataclass
class Checkpoint:
    url: str
    services: Services
    pki: DevPki
    clock: MovableClock
    client: GatewayClient

    def device(self, slug: str) -> Device:
        identity = trader_identity(self.pki, slug)
        key = serialization.load_pem_private_key(identity.key_pem, password=None)
        assert isinstance(key, PrivateKey)
        keyid = identity.certificate.fingerprint(hashes.SHA256()).hex()
        return Device(self.url, slug, key, keyid, self.clock)

    def bind(self, slug: str, stage: str, checkpoint: str = "KZ-NURZHOLY") -> None:
        """Bind a dev-PKI device to a stage as a line of mappings/checkpoints.toml would: the
        registry only makes its key findable; the trust store judges its certificate per request."""
        device = RegisteredDevice(slug, checkpoint, stage, self.pki.certificate(slug))
        self.services.checkpoint.registry.devices[device.keyid] = device

    def stage(self, stage: str, plate: str, **kwargs: Any) -> requests.Response:
        return self.device(STAGE_DEVICES[stage]).event(stage, plate, **kwargs)

    def officer(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {OFFICER_TOKEN}"}
        return requests.request(method, f"{self.url}/api/v1/checkpoint{path}", headers=headers,
                                timeout=30, **kwargs)  # fmt: skip

    def lodge(self, sample: str, edit: Callable[[bytes], bytes] | None = None) -> str:
        raw = (SAMPLES / f"{sample}.xml").read_bytes()
        if edit:
            raw = edit(raw)
        signer = {"fresh-apples-import": "trader-steppe",
                  "overweight-machinery-transit": "trader-kaztrans"}[sample]  # fmt: skip
        answer = self.client.submit(
            sign_enveloped(parse_xml(raw), trader_identity(self.pki, signer))
        )
        self.wait_decided(str(answer["id"]))  # the trail stops growing: counts are stable after
        return str(answer["id"])

    def pay(self, application_id: str) -> None:
        """Settle the application's payment order in full, as a treasury confirmation would
        (tests.payments.settle): granted becomes released."""
        from tests.payments.settle import pay_in_full

        pay_in_full(self.services, application_id)
        assert self.status(application_id)["verdict"] == "released"

    def status(self, application_id: str) -> dict[str, Any]:
        app = self.services.store.application(application_id)
        assert app is not None
        return app.to_json()

    def wait_decided(self, application_id: str, deadline_s: float = 30) -> dict[str, Any]:
        decided: dict[str, Any] = wait_until(
            lambda: (app := self.status(application_id))["status"] == "decided" and app,
            deadline_s,
            f"{application_id} decided",
        )
        return decided

    def notice(self, plate: str, applications: list[str], *, reference: str | None = None,
               version: int = 1, signer: str = CARRIER, declared_kg: int = 36200, axles: int = 5,
               transit: tuple[str, str] | None = None, carrier_bin: str = "181240044780",
               checkpoint: str = "KZ-NURZHOLY") -> requests.Response:  # fmt: skip
        body = notice_xml(plate, applications, reference=reference or f"PAN-{secrets.token_hex(4)}",
                          version=version, declared_kg=declared_kg, axles=axles, transit=transit,
                          carrier_bin=carrier_bin, arrival=self.clock(), checkpoint=checkpoint)  # fmt: skip
        signed = sign_enveloped(parse_xml(body), trader_identity(self.pki, signer))
        return requests.post(f"{self.url}/api/v1/checkpoint/notices", data=signed,
                             headers={"Content-Type": "application/xml"}, timeout=30)  # fmt: skip

    def trail_size(self) -> int:
        from sqlalchemy import func, select

        from gateway.storage.models import MessageRow

        with self.services.store.transaction() as s:
            return int(s.scalar(select(func.count(MessageRow.id))) or 0)


def notice_xml(plate: str, applications: list[str], *, reference: str, version: int,
               declared_kg: int, axles: int, transit: tuple[str, str] | None, carrier_bin: str,
               arrival: dt.datetime, checkpoint: str = "KZ-NURZHOLY") -> bytes:  # fmt: skip
    apps = "".join(f"<ApplicationId>{a}</ApplicationId>" for a in applications)
    transit_xml = (
        f"<Transit><Corridor>{transit[0]}</Corridor><ExitCheckpoint>{transit[1]}</ExitCheckpoint>"
        "<SealId>ES-0047</SealId></Transit>"
        if transit
        else ""
    )
    return f"""<ArrivalNotice xmlns="urn:kz:nsw:notice:1">
  <CarrierBIN>{carrier_bin}</CarrierBIN><NoticeReference>{reference}</NoticeReference>
  <Version>{version}</Version><Checkpoint>{checkpoint}</Checkpoint>
  <ExpectedArrival>{arrival.isoformat()}</ExpectedArrival>
  <Vehicle><Plate>{plate}</Plate><TrailerPlate>45AB02</TrailerPlate><Country>KZ</Country>
    <Axles>{axles}</Axles><DeclaredGrossMassKg>{declared_kg}</DeclaredGrossMassKg></Vehicle>
  <Driver><Name>Serik Omarov</Name><DocumentNumber>N12345678</DocumentNumber><Country>KZ</Country></Driver>
  <Applications>{apps}</Applications>{transit_xml}
</ArrivalNotice>""".encode()


def barrier_xml(answer: dict[str, Any]) -> bytes:
    return base64.b64decode(answer["barrier_command"])


@pytest.fixture
def checkpoint(pki: DevPki, database_url: str, agencies: dict[str, str]) -> Iterator[Checkpoint]:
    """The gateway (dispatcher threads, stand-in agencies) on 127.0.0.1 with a movable clock."""
    clock = MovableClock()
    config = gateway_config(pki, database_url, agencies, poll_interval_s=0.05,
                            operator_tokens=(OFFICER_TOKEN,))  # fmt: skip
    services = build_services(config, clock)
    app = create_app(config, services)
    with serving(app) as url:
        yield Checkpoint(url, services, pki, clock, GatewayClient(url))
    services.close()


def fresh_plate(sample_plate: str) -> Callable[[bytes], bytes]:
    """An edit giving the sample a new trader reference (and the same plate)."""

    def edit(raw: bytes) -> bytes:
        ref = secrets.token_hex(4).upper()
        return raw.replace(b"<TraderReference>", f"<TraderReference>T{ref}-".encode(), 1)

    return edit


def signing_identity(pki: DevPki, slug: str) -> SigningIdentity:
    return trader_identity(pki, slug)
