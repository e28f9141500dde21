"""bench/path_profile.py with named functions timed in place: their own thread CPU per
application (inclusive), and the in-run ratio of the whole path to the crypto calls in it. Not a
test.

    .venv/bin/python bench/path_costs.py [-k K] [--postgres URL --may-wipe NAME]

Unlike --top (cProfile, which slows a run several-fold and over-weighs many small calls), only
the functions listed in TIMED are wrapped, each with two thread_time() reads per call, so the
figures are the unprofiled ones. "crypto in run" adds up the calls bench/_floor.py counts (the
RFC 9421 and WS-Security sign/verify, the decision and receipt signatures, the intake verify)
as this run made them; the ratio divides the path's CPU (intake + dispatch) by that. "pure
crypto" redoes, after the run, only the cryptography of those same calls over the same bytes and
keys (RSA/ECDSA, SHA-256, exclusive c14n: bench/_pure_floor.py), and the path's ratio to it is
printed too. On a loaded machine read the ratios, not the milliseconds, and compare runs made back
to back.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import _pure_floor
import path_profile
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fanout_bench import REPO_ROOT

from gateway.pki.dev import init_dev_pki
from gateway.trust.xmlparse import parse_xml

CRYPTO = (
    "wire.httpsig:sign",
    "wire.httpsig:verify",
    "wire.wsse:sign_envelope",
    "wire.wsse:verify_envelope",
    "gateway.decision.document:signed_decision",
    "gateway.intake.service:verify_enveloped",
    "gateway.web.api:signed_receipt",
)
TIMED = (
    *CRYPTO,
    "gateway.fanout.dispatch:Dispatcher.run_once",
    "gateway.fanout.dispatch:Dispatcher._settled",
    "gateway.storage.outbox:OutboxStore.claim",
    "gateway.storage.outbox:OutboxStore.claim_ready",
    "gateway.storage.outbox:OutboxStore.next_due",
    "gateway.storage.outbox:OutboxStore.settle_all",
    "gateway.storage.outbox:OutboxStore._close_deliveries",
    "gateway.storage.outbox:OutboxStore._compose",
    "gateway.storage.outbox:OutboxStore._case_changed",
    "gateway.storage.repository:Store.create_application",
    "gateway.intake.service:Intake.submit",
    "adapters.rest:RestAdapter.send",
    "adapters.soap:SoapAdapter.send",
    "requests.sessions:Session.send",
    "adapters.http:AgencyConnection.post",
    "sqlalchemy.orm.session:Session.flush",
    "sqlalchemy.orm.session:Session.get",
)

spent: Counter[str] = Counter()
calls: Counter[str] = Counter()
_inside = threading.local()
pure_jobs: list[Callable[[], float]] = []  # the cryptography alone of each crypto call made


def _signer(identity: Any) -> _pure_floor.Signer:
    key = identity.private_key
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return key


def _pure_job(label: str, args: tuple[Any, ...], result: Any) -> Callable[[], float]:
    """What `label`'s call cost in cryptography alone, to be timed after the run."""
    xmldsig, httpsig, public_of = _pure_floor.xmldsig, _pure_floor.httpsig, _pure_floor.public_of
    if label == "wire.httpsig:sign":
        return lambda: httpsig(args[1], key=args[2])
    if label == "wire.httpsig:verify":
        return lambda: httpsig(args[1], public=public_of(args[2]))
    if label == "wire.wsse:sign_envelope":
        return lambda: xmldsig(result, key=args[1])
    if label == "wire.wsse:verify_envelope":
        return lambda: xmldsig(args[0], public=public_of(args[1]))
    if label == "gateway.intake.service:verify_enveloped":
        return lambda: xmldsig(args[0], public=public_of(result.signer.certificate))
    # signed_decision, signed_receipt: (identity, ...) -> the signed document's bytes
    return lambda: xmldsig(parse_xml(result), key=_signer(args[0]))


def _timed(label: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        if getattr(_inside, label, False):  # a recursive call is inside the outer one's time
            return original(*args, **kwargs)
        setattr(_inside, label, True)
        t0 = time.thread_time()
        try:
            result = original(*args, **kwargs)
        finally:
            spent[label] += time.thread_time() - t0
            calls[label] += 1
            setattr(_inside, label, False)
        if label in CRYPTO:
            pure_jobs.append(_pure_job(label, args, result))
        return result

    return timed


def _wrap_all() -> None:
    for label in TIMED:
        module_name, path = label.split(":")
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        setattr(owner, name, _timed(label, getattr(owner, name)))


class _Cpu(Counter[str]):
    """path_profile's counters; its CPU one is found by its float values, and clearing it after
    the warm-up clears these figures too."""

    made: list[_Cpu] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _Cpu.made.append(self)

    def clear(self) -> None:
        spent.clear()
        calls.clear()
        pure_jobs.clear()
        super().clear()


def main(argv: list[str]) -> int:
    _wrap_all()
    path_profile.Counter = _Cpu  # type: ignore[misc]
    k = int(argv[argv.index("-k") + 1]) if "-k" in argv else 40
    path_profile.main(argv)
    print("| function | CPU per application | calls per application |")
    print("| --- | ---: | ---: |")
    for label, seconds in spent.most_common():
        print(f"| {label} | {seconds / k * 1000:.2f} ms | {calls[label] / k:.1f} |")
    cpu = next(c for c in _Cpu.made if isinstance(c.get("intake"), float))
    path = cpu["intake"] + cpu["dispatch"]
    crypto = sum(spent[label] for label in CRYPTO)
    _pure_floor.know_keys(init_dev_pki(REPO_ROOT / "certs" / "dev"))
    pure = sum(job() for job in pure_jobs)
    print(
        f"path CPU {path / k * 1000:.1f} ms per application, crypto in run "
        f"{crypto / k * 1000:.1f} ms, ratio {path / crypto:.2f}, "
        f"not crypto {(path - crypto) / k * 1000:.1f} ms; pure crypto "
        f"{pure / k * 1000:.1f} ms, ratio {path / pure:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
