"""Intake on in-memory ports: what is lodged, what is refused, and the same bytes sent twice."""

from __future__ import annotations

import tomllib
from collections.abc import Callable

import pytest

from gateway.clock import system_clock
from gateway.config import Config
from gateway.domain.identifiers import Bin
from gateway.errors import ReferenceConflict, SignerNotDeclarant
from gateway.fanout.routing import load_rules
from gateway.intake.service import Intake
from gateway.pki.dev import DevPki
from gateway.resources import shipped
from gateway.trust.certificates import TrustStore
from gateway.trust.representatives import Role
from gateway.trust.schemas import load_schema
from tests.fakes.store import InMemoryStore
from tests.fakes.trust import MemoryRepresentatives, MemoryTraderCertificates

APPLES = "fresh-apples-import"  # declarant 210540012341 (trader-steppe)
STEPPE = "210540012341"


class Parts:
    def __init__(self, pki: DevPki) -> None:
        config = Config(
            "sqlite://", pki.directory, pki.key_path("gateway"), pki.cert_path("gateway")
        )
        self.store = InMemoryStore(system_clock)
        self.representatives = MemoryRepresentatives(system_clock)
        self.trader_certs = MemoryTraderCertificates(system_clock)
        self.intake = Intake(
            schema=load_schema(config.wsdl_dir / "application" / "application.xsd"),
            trust=TrustStore.from_directory(pki.directory, system_clock),
            rules=load_rules(config.mappings_dir / "routing.toml"),
            store=self.store,
            clock=system_clock,
            max_bytes=config.max_body_bytes,
            representatives=self.representatives,
            trader_certs=self.trader_certs,
        )


@pytest.fixture
def parts(pki: DevPki) -> Parts:
    return Parts(pki)


def test_an_accepted_application_is_lodged_with_one_case_per_agency(
    parts: Parts, signed_sample: Callable[..., bytes]
) -> None:
    body = signed_sample(APPLES)
    accepted = parts.intake.submit(body, request_id="req-1")

    assert accepted.created and accepted.received_at is not None
    app = parts.store.applications[accepted.application_id]
    assert (app.declarant_bin, app.trader_reference, app.body) == (STEPPE, "STEPPE-2026-0001", body)
    assert app.request_id == "req-1"
    agencies = [c.agency for c in parts.store.cases.values()]
    expected = tomllib.loads((shipped("samples") / "expected.toml").read_text())[APPLES]
    assert agencies == expected["agencies"]
    assert len(parts.store.deliveries) == len(agencies)
    (received,) = [r.message for r in parts.store.trail]
    assert (received.kind, received.body) == ("application", body)
    # The signer's certificate may now sign requests to read its applications.
    assert [r.bin for r in parts.trader_certs.list()] == [STEPPE]


def test_the_same_signed_bytes_again_return_the_original(
    parts: Parts, signed_sample: Callable[..., bytes]
) -> None:
    body = signed_sample(APPLES)
    first = parts.intake.submit(body)
    again = parts.intake.submit(body)
    assert (again.application_id, again.created) == (first.application_id, False)
    assert len(parts.store.applications) == 1


def test_a_reference_used_for_other_bytes_is_a_conflict_naming_the_first(
    parts: Parts, signed_sample: Callable[..., bytes]
) -> None:
    first = parts.intake.submit(signed_sample(APPLES))
    other = signed_sample(APPLES, edit=lambda raw: raw.replace(b"Yining", b"Urumqi", 1))
    with pytest.raises(ReferenceConflict, match=first.application_id):
        parts.intake.submit(other)
    assert len(parts.store.applications) == 1


def test_a_signer_who_is_not_the_declarant_needs_a_registration(
    parts: Parts, signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    body = signed_sample(APPLES, signer="trader-altyn")
    with pytest.raises(SignerNotDeclarant, match="not registered to represent it"):
        parts.intake.submit(body)
    assert parts.store.applications == {} and parts.trader_certs.list() == []

    altyn = pki.bins["trader-altyn"]
    parts.representatives.register(Bin(STEPPE), Bin(altyn), Role.CUSTOMS_REPRESENTATIVE)
    assert parts.intake.submit(body).created
