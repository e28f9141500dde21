"""The fan-out bench's inputs: a corpus of signed applications, and what one application's
signature work costs. Computed before anything is timed."""

from __future__ import annotations

import time
from collections.abc import Callable

import _pure_floor
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.clock import iso, system_clock
from gateway.decision.document import signed_decision
from gateway.decision.rules import CaseResult, CaseState, compose
from gateway.domain.views import ApplicationStatus
from gateway.intake.receipt import signed_receipt
from gateway.pki.dev import DevPki
from gateway.resources import shipped
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped, verify_enveloped

AGENCIES = ("customs", "transport", "police", "phytosanitary", "health")
APP_NS = "{urn:kz:nsw:application:1}"


def _traders(pki: DevPki) -> dict[str, SigningIdentity]:
    """The valid dev trader certificate of each BIN (not the expired or revoked test ones)."""
    found = {}
    for party in pki.parties:
        if (
            party.role == "trader"
            and party.bin
            and not {"expired", "revoked"} & set(party.slug.split("-"))
        ):
            found.setdefault(
                party.bin,
                SigningIdentity.from_files(
                    pki.key_path(party.slug),
                    pki.cert_path(party.slug),
                    pki.directory / "issuing-ca.pem",
                ),
            )
    return found


def signed_corpus(pki: DevPki, count: int) -> list[bytes]:
    """`count` applications: the samples in turn, each copy with its own TraderReference."""
    traders = _traders(pki)
    samples = [p.read_bytes() for p in sorted((shipped("samples")).glob("*.xml"))]
    nonce = f"{int(time.time()) % 100000:05d}"
    corpus = []
    for i in range(count):
        document = parse_xml(samples[i % len(samples)])
        document.find(f"{APP_NS}TraderReference").text = f"BENCH-{nonce}-{i:05d}"
        corpus.append(sign_enveloped(document, traders[document.findtext(f"{APP_NS}DeclarantBIN")]))
    return corpus


def signature_cost(pki: DevPki, corpus: list[bytes], reps: int) -> dict[str, float]:
    """CPU seconds per operation: verify one application, sign one decision, sign one receipt;
    and under "<operation> pure" the cryptography alone of each (`_pure_floor`)."""
    trust = TrustStore.from_directory(pki.directory, system_clock)
    gateway = SigningIdentity.from_files(
        pki.key_path("gateway"), pki.cert_path("gateway"), pki.directory / "issuing-ca.pem"
    )
    decision = compose(
        [
            CaseResult(
                a, CaseState.GRANTED, f"{a.upper()}-0001", "2026-12-31", answer_sha256="0" * 64
            )
            for a in AGENCIES
        ]
    )
    assert decision is not None
    application = ApplicationStatus(
        id="NSW-20260101-0000000000",
        declarant_bin="210540012341",
        trader_reference="BENCH-0",
        procedure="import",
        status="in_progress",
        verdict=None,
        received_at=iso(system_clock()),
        decided_at=None,
        application_sha256="0" * 64,
        signer="",
        routing={},
        request_id=None,
        cases=(),
    )

    # What each timed call produced, kept (an append) so that its cryptography alone is timed
    # after the loop, outside the operation's own figure.
    made: dict[str, list[Callable[[], float]]] = {"verify": [], "decision": [], "receipt": []}

    def verify(i: int) -> None:
        root = parse_xml(corpus[i % len(corpus)])
        verified = verify_enveloped(root, trust, now=system_clock())
        public = _pure_floor.public_of(verified.signer.certificate)
        made["verify"].append(lambda: _pure_floor.xmldsig(root, public=public))

    def decide(_: int) -> None:
        signed = signed_decision(
            gateway,
            application_id=application.id,
            declarant_bin=application.declarant_bin,
            trader_reference="BENCH-0",
            application_sha256="0" * 64,
            decision=decision,
            decided_at=system_clock(),
        )
        made["decision"].append(lambda: _pure_floor.xmldsig(parse_xml(signed), key=key))

    def receipt(_: int) -> None:
        signed = signed_receipt(gateway, application)
        made["receipt"].append(lambda: _pure_floor.xmldsig(parse_xml(signed), key=key))

    any_key = gateway.private_key
    assert isinstance(any_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    key: _pure_floor.Signer = any_key

    cost = {}
    for name, work in (("verify", verify), ("decision", decide), ("receipt", receipt)):
        work(0)  # warm caches (CRL parsing, key loading paths)
        t0 = time.process_time()
        for i in range(reps):
            work(i)
        cost[name] = (time.process_time() - t0) / reps
    for name, jobs in made.items():
        cost[f"{name} pure"] = sum(job() for job in jobs[1:]) / reps  # [0]: the warm-up
    return cost
