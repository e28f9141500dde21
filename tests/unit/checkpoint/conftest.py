"""The checkpoint service on the in-memory storage (tests/fakes/checkpoint.py): the real gate rules,
checkpoints and corridors from mappings/, a throwaway signing key for the barrier commands."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.checkpoint.events import StageEvent
from gateway.checkpoint.gate_rules import load_gate_rules
from gateway.checkpoint.registry import CheckpointRegistry, Device, load_registry
from gateway.checkpoint.service import CheckpointService
from gateway.checkpoint.transit import load_corridors
from gateway.checkpoint.transit_service import TransitMonitor
from gateway.resources import shipped
from gateway.trust.xmlsig import SigningIdentity
from tests.fakes.checkpoint import FakeCheckpointStorage

CHECKPOINT = "KZ-NURZHOLY"  # open 24/7 (mappings/checkpoints.toml)
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
class StepClock:
    now: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 5, 4, 6, 0, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def _self_signed() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unit-test gateway")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def identity() -> SigningIdentity:
    key_pem, cert_pem = _self_signed()
    return SigningIdentity(key_pem, (cert_pem,))


@dataclass
class Gate:
    """The service wired as gateway.checkpoint.wiring does, on the fake storage."""

    storage: FakeCheckpointStorage
    service: CheckpointService
    transits: TransitMonitor
    clock: StepClock
    device_cert: x509.Certificate
    events: int = 0

    def device(self, stage: str, checkpoint: str = CHECKPOINT) -> Device:
        # Authentication happened before the service is called; the service reads slug and binding.
        return Device(f"{checkpoint.lower()}-{stage}", checkpoint, stage, self.device_cert)

    def event(self, stage: str, plate: str, *, lane: str = "L1", event_id: str | None = None,
              checkpoint: str = CHECKPOINT, **readings: Any) -> StageEvent:  # fmt: skip
        self.events += 1
        return StageEvent(
            event_id=event_id or f"ev-{self.events}", checkpoint=checkpoint, stage=stage,
            lane=lane, plate=plate, measured_at=self.clock(),
            readings={**GOOD_READINGS[stage], **readings},
        )  # fmt: skip

    def send(self, event: StageEvent, body: bytes | None = None) -> dict[str, Any]:
        body = body if body is not None else json.dumps(event.readings).encode()
        answer, _ = self.service.record_event(
            self.device(event.stage, event.checkpoint), event, body
        )
        return answer

    def stage(self, stage: str, plate: str, **kwargs: Any) -> dict[str, Any]:
        self.clock.advance(minutes=2)
        return self.send(self.event(stage, plate, **kwargs))


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> CheckpointRegistry:
    # No device certificates: the service is called after authentication (see Gate.device).
    return load_registry(shipped("mappings") / "checkpoints.toml", tmp_path_factory.mktemp("pki"))


@pytest.fixture
def gate(identity: SigningIdentity, registry: CheckpointRegistry) -> Gate:
    clock = StepClock()
    storage = FakeCheckpointStorage(clock)
    mappings = shipped("mappings")
    transits = TransitMonitor(
        storage, clock, load_corridors(mappings / "corridors", registry.checkpoints)
    )
    service = CheckpointService(
        units=storage, clock=clock, registry=registry,
        rules=load_gate_rules(mappings / "gate_rules.toml"), identity=identity, transits=transits,
    )  # fmt: skip
    return Gate(
        storage, service, transits, clock, x509.load_pem_x509_certificate(identity.chain_pem[0])
    )
