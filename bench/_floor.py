"""The crypto floor of one application: every cryptographic call the gateway makes for it, timed in
this process over the same three samples the fan-out bench sends. Not a test.

Counted from the code, per application:

    intake    gateway.trust.xmlsig.verify_enveloped     XML-DSig, chain to the anchors, CRL    1
              gateway.intake.receipt.signed_receipt      the receipt in the 202                  1
    decision  gateway.decision.document.signed_decision                                   1
    per SOAP agency (adapters/soap.py, WS-Security):
              wire.wsse.sign_envelope            the request (Body and Timestamp)        1
              wire.wsse.verify_envelope          the answer, with its SignatureConfirmation 1
    per REST agency (adapters/rest.py, RFC 9421):
              wire.httpsig.sign                  the request, Content-Digest included    1
              wire.httpsig.verify                the answer, Content-Digest checked      1

The agencies an application needs come from the routing rules. The agency calls are made for real:
the adapters post to the stand-in agencies running in this process on 127.0.0.1, with the four
adapter functions wrapped to add up their own thread CPU time — so what is signed and verified is
byte for byte what the gateway signs and verifies, and zeep, mapping and HTTP work are left out.

Two floors come out. "as called" times those calls whole: the protocol's work as the gateway's
libraries do it (RFC 9421 structured-field parsing, signxml's re-parse, the trust path). "pure"
times, for the same calls over the same bytes and keys, only the RSA/ECDSA operations, the SHA-256
digests and the exclusive c14n (`bench/_pure_floor.py`): the least any implementation must spend.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import _pure_floor
from _corpus import signature_cost

import wire.httpsig
import wire.wsse
from adapters.base import AgencyRequest, Credentials
from adapters.registry import build_adapter
from gateway.domain.application import read_application
from gateway.fanout.agencies import load_agency_specs, standin_agencies
from gateway.fanout.routing import load_rules, route
from gateway.pki.dev import DevPki
from gateway.resources import contracts_root, shipped
from gateway.trust.xmlparse import parse_xml
from simulators.server import start_agency

WRAPPED = (
    (wire.wsse, "sign_envelope", "WS-Security sign"),
    (wire.wsse, "verify_envelope", "WS-Security verify"),
    (wire.httpsig, "sign", "RFC 9421 sign + Content-Digest"),
    (wire.httpsig, "verify", "RFC 9421 verify + Content-Digest"),
)


def _pure_job(label: str, args: tuple[Any, ...]) -> Callable[[], float]:
    """The cryptography alone of one wrapped call, to be timed later (`_pure_floor`)."""
    if label == "WS-Security sign":
        envelope, key = args[0], args[1]
        return lambda: _pure_floor.xmldsig(envelope, key=key)
    if label == "WS-Security verify":
        envelope, public = args[0], _pure_floor.public_of(args[1])
        return lambda: _pure_floor.xmldsig(envelope, public=public)
    if label == "RFC 9421 sign + Content-Digest":
        body, key = args[1], args[2]
        return lambda: _pure_floor.httpsig(body, key=key)
    body, public = args[1], _pure_floor.public_of(args[2])
    return lambda: _pure_floor.httpsig(body, public=public)


@contextmanager
def _timed(
    spent: dict[str, list[float]], pure: dict[str, list[Callable[[], float]]]
) -> Iterator[None]:
    """Wrap the adapters' crypto functions so each call adds its thread CPU seconds to `spent`,
    and what it signed or verified to `pure` (timed after the run, outside these figures)."""
    originals = [(module, name, getattr(module, name)) for module, name, _ in WRAPPED]

    def wrap(label: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.thread_time()
            try:
                result = original(*args, **kwargs)
            finally:
                spent[label].append(time.thread_time() - t0)
            pure[label].append(_pure_job(label, args))
            return result

        return timed

    for (module, name, original), (_, _, label) in zip(originals, WRAPPED, strict=True):
        setattr(module, name, wrap(label, original))
    try:
        yield
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


def agency_crypto(
    pki: DevPki, corpus: list[bytes], reps: int
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """(CPU seconds, calls) per application of each adapter crypto call, averaged over `reps`
    rounds of the corpus's samples, one of each (each sent to every agency its routing names):
    as called, and their cryptography alone."""
    # The corpus cycles through the samples: its first len(samples) are one of each.
    samples = corpus[: len(list(shipped("samples").glob("*.xml")))]
    needs = agencies_needed(samples)
    with ExitStack() as stack:
        _specs, adapters_by_code = standin_adapters(stack, pki)
        warm_up(adapters_by_code, samples, needs)
        spent: dict[str, list[float]] = defaultdict(list)
        pure: dict[str, list[Callable[[], float]]] = defaultdict(list)
        with _timed(spent, pure):
            for rep in range(reps):
                for n, (xml, agencies) in enumerate(zip(samples, needs, strict=True)):
                    for code in agencies:
                        request = AgencyRequest(f"FLOOR-{rep}-{n}-{code}", "FLOOR", xml)
                        adapters_by_code[code].send(request)
    applications = reps * len(samples)
    as_called = {
        label: (sum(times) / applications, len(times) / applications)
        for label, times in spent.items()
    }
    alone = {
        label: (sum(job() for job in jobs) / applications, len(jobs) / applications)
        for label, jobs in pure.items()
    }
    return as_called, alone


def agencies_needed(samples: list[bytes]) -> list[list[str]]:
    """For each signed application, the agencies its routing sends it to."""
    rules = load_rules(shipped("mappings") / "routing.toml")
    return [[r.agency for r in route(read_application(parse_xml(xml)), rules)] for xml in samples]


def standin_adapters(stack: ExitStack, pki: DevPki) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start every stand-in agency in `stack` and build the gateway's adapter for each, as the
    gateway builds them (its key and certificate, the agency's pinned certificate): (specs by
    code, adapters by code)."""
    endpoints = {
        code: stack.enter_context(start_agency(code, pki_dir=pki.directory)).url
        for code in standin_agencies(shipped("mappings"))
    }
    specs = load_agency_specs(shipped("mappings"), contracts_root(), endpoints)
    adapters = {
        code: build_adapter(
            spec,
            Credentials.from_files(
                pki.key_path("gateway"),
                pki.cert_path("gateway"),
                pki.cert_path(f"agency-{code}"),
                clock=lambda: dt.datetime.now(dt.UTC),
            ),
        )
        for code, spec in specs.items()
        if code in endpoints
    }
    return specs, adapters


def warm_up(adapters: dict[str, Any], samples: list[bytes], needs: list[list[str]]) -> None:
    """One round of the samples to every agency they need, untimed: connections, caches."""
    for n, (xml, agencies) in enumerate(zip(samples, needs, strict=True)):
        for code in agencies:
            adapters[code].send(AgencyRequest(f"WARM-{n}-{code}", "WARM", xml))


Floor = dict[str, tuple[float, float]]


def crypto_floors(pki: DevPki, corpus: list[bytes], reps: int) -> tuple[Floor, Floor]:
    """(CPU seconds, calls) per application for each cryptographic call the gateway makes (see
    the module docstring), and their sum under "total": as called, and pure."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log lines per call
    _pure_floor.know_keys(pki)
    intake = signature_cost(pki, corpus, reps * 3)
    as_called, alone = agency_crypto(pki, corpus, reps)
    floor = {
        "XML-DSig verify (chain, CRL)": (intake["verify"], 1.0),
        "receipt signature": (intake["receipt"], 1.0),
        "decision signature": (intake["decision"], 1.0),
        **as_called,
    }
    pure = {
        "XML-DSig verify (chain, CRL)": (intake["verify pure"], 1.0),
        "receipt signature": (intake["receipt pure"], 1.0),
        "decision signature": (intake["decision pure"], 1.0),
        **alone,
    }
    for each in (floor, pure):
        each["total"] = (
            sum(cpu for cpu, _ in each.values()),
            sum(calls for _, calls in each.values()),
        )
    return floor, pure


def crypto_floor(pki: DevPki, corpus: list[bytes], reps: int) -> Floor:
    """The floor as called (`crypto_floors`' first)."""
    return crypto_floors(pki, corpus, reps)[0]
