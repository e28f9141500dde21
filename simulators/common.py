"""What every stand-in agency shares: fault options, idempotency, permit numbers, the decision type.

Simulators are the agencies' side of the wire. They share nothing with the gateway package; only the
contract files in wsdl/ are common ground.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Generic, TypeVar

T = TypeVar("T")

CONTRACTS = Path(__file__).resolve().parent.parent / "wsdl"
TAMPERS = ("body", "wrong-key", "unsigned", "other-agency", "replay")
FAULTS = ("reset", "truncated", "garbage", "off-contract", "client-fault")


@dataclass
class SimulatorOptions:
    """Fault options, read on every request (tests may change them while the server runs).

    latency_s: wait this long before answering. error_rate: fraction of requests answered with a
    server error, deterministic (0.5 fails every 2nd request, 1.0 all of them). outage: answer
    every request with 503 Service Unavailable.

    pki_dir: where the agency's key and the gateway's certificate are (default: NSW_PKI_DIR, else
    certs/dev). answer_later: answer "pending" at once and post the final answer to the request's
    callback URL after callback_delay_s; callback_first: post it *before* answering "pending" (an
    out-of-order callback). tamper: "body" changes a byte of the signed Body (or JSON body) after
    signing, "wrong-key" signs with a key that is not the certificate's, "unsigned" does not sign,
    "other-agency" signs correctly but as another agency (its key and certificate, from the same
    CA); it applies to answers and callbacks alike. "replay" answers every later request for a case
    with the first answer sent for that case, byte for byte (headers and signature included): a
    genuine, still fresh answer made for another request; it applies to answers only.

    fault: how every answer goes wrong while it is set. "reset": the status line, headers and half
    the body are sent, then the connection is reset (TCP RST). "truncated": a complete HTTP answer
    carrying the first half of the body. "garbage": a body that is not XML (SOAP) or not JSON.
    "off-contract": a well-formed answer with a status the contract does not allow. REST agencies
    sign the spoilt body as sent, so only its content is wrong. These four spoil an answer already
    made: its permit is issued once, and the same answer comes back once the fault is switched off.
    "client-fault": the request is refused before anything is issued, with a soap:Client Fault
    (SOAP) or a 422 problem (REST).
    """

    latency_s: float = 0.0
    error_rate: float = 0.0
    outage: bool = False
    pki_dir: Path | None = None
    answer_later: bool = False
    callback_delay_s: float = 0.0
    callback_first: bool = False
    tamper: str | None = None
    fault: str | None = None

    def __post_init__(self) -> None:
        for name, value, known in (("tamper", self.tamper, TAMPERS), ("fault", self.fault, FAULTS)):
            if value is not None and value not in known:
                raise ValueError(f"unknown {name} {value!r}; known: {', '.join(known)}")


class FaultInjector:
    """Applies `SimulatorOptions` to one request; thread-safe."""

    def __init__(self, options: SimulatorOptions) -> None:
        self.options = options
        self._count = 0
        self._lock = threading.Lock()

    def fault(self) -> str | None:
        """None to go on, "outage" for a 503, "error" for a 500. Waits `latency_s` first."""
        if self.options.outage:
            return "outage"
        if self.options.latency_s > 0:
            time.sleep(self.options.latency_s)
        with self._lock:
            self._count += 1
            n, rate = self._count, min(max(self.options.error_rate, 0.0), 1.0)
        # Request n fails when the running total of "owed" failures steps up: an even, repeatable
        # spread (rate 0.25 fails requests 4, 8, 12, ...), so fault tests need no random seed.
        return "error" if math.floor(n * rate) > math.floor((n - 1) * rate) else None


class IdempotentAnswers:
    """The first answer per idempotency key (the gateway's case id), kept in memory.

    `answer(key, make)` returns the stored answer for `key`, or calls `make()` once and stores it.
    A lock per key is held while `make` runs, so two concurrent requests with the same key cannot
    both create a permit; requests for other keys go on meanwhile (one lock for all keys made
    every case of every application wait for each answer being made in turn). If `make` raises,
    nothing is stored and the next request for the key makes it again.
    """

    def __init__(self) -> None:
        self._answers: dict[str, bytes] = {}
        self._making: dict[str, threading.Lock] = {}  # key -> held while its answer is made
        self._lock = threading.Lock()  # guards both dicts, never held while making

    def answer(self, key: str, make: Callable[[], bytes]) -> tuple[bytes, bool]:
        """(answer bytes, replayed?)"""
        with self._lock:
            if key in self._answers:
                return self._answers[key], True
            making = self._making.setdefault(key, threading.Lock())
        with making:
            with self._lock:
                if key in self._answers:  # made by the request this one waited for
                    return self._answers[key], True
            made = make()
            with self._lock:
                self._answers[key] = made
                self._making.pop(key, None)
            return made, False


class FirstSent(Generic[T]):
    """The first answer sent per key, as it went on the wire (for tamper "replay"); thread-safe."""

    def __init__(self) -> None:
        self._sent: dict[str, T] = {}
        self._lock = threading.Lock()

    def first(self, key: str, answer: T) -> T:
        """The answer first sent for `key`; `answer` itself when there was none."""
        with self._lock:
            return self._sent.setdefault(key, answer)


@dataclass
class CaseRecord:
    """What a stand-in remembers of one case (issue 19): its permit now, the permits an
    amendment superseded, and whether the case was cancelled (and the permit with it)."""

    permit: str | None = None
    superseded: list[str] = field(default_factory=list)
    cancelled: bool = False
    cancelled_permit: str | None = None
    reason: str | None = None


class CaseBook:
    """The cases a stand-in has seen, and every request it honoured, in order (`log`: (operation,
    case id, version)); thread-safe. A cancelled case takes no further request or amendment."""

    def __init__(self) -> None:
        self._cases: dict[str, CaseRecord] = {}
        self.log: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()

    def get(self, case_id: str) -> CaseRecord:
        with self._lock:
            return self._cases.setdefault(case_id, CaseRecord())

    def cancelled(self, case_id: str) -> bool:
        with self._lock:
            record = self._cases.get(case_id)
            return record is not None and record.cancelled

    def may_amend(self, case_id: str) -> bool:
        """A live case, or one an earlier amendment took out of this agency's control (reason
        "amended"), which a later amendment may bring back; never one of a withdrawn application."""
        with self._lock:
            record = self._cases.get(case_id)
            return record is None or not record.cancelled or record.reason == "amended"

    def issued(self, case_id: str, permit: str | None, version: int = 1) -> None:
        with self._lock:
            record = self._cases.setdefault(case_id, CaseRecord())
            if record.permit and record.permit != permit:
                record.superseded.append(record.permit)
            record.permit, record.cancelled, record.reason = permit, False, None
            self.log.append(("request" if version == 1 else "amend", case_id, version))

    def cancel(self, case_id: str, reason: str) -> str | None:
        """Cancel the case and its permit; the permit cancelled (None: none was issued)."""
        with self._lock:
            record = self._cases.setdefault(case_id, CaseRecord())
            if not record.cancelled:
                record.cancelled, record.reason = True, reason
                record.cancelled_permit, record.permit = record.permit, None
                self.log.append(("cancel", case_id, 0))
            return record.cancelled_permit


class Numbers:
    """Readable, unique (per running simulator) numbers like KZ-CUS-20261125-000123."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._serial = itertools.count(1)
        self._lock = threading.Lock()

    def next(self, today: dt.date) -> str:
        with self._lock:
            serial = next(self._serial)
        return f"{self.prefix}-{today:%Y%m%d}-{serial:06d}"

    def serial(self) -> int:
        with self._lock:
            return next(self._serial)


@dataclass
class Decision:
    """What an agency decided about one case, before it is written in the agency's format."""

    status: str  # granted | refused | inspection | pending
    reference: str  # the agency's own file number
    permit_number: str | None = None
    valid_until: dt.date | None = None
    conditions: list[str] = field(default_factory=list)
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (code, text)
    inspection: tuple[str, str] | None = None  # (place, reason)
    permit: dict[str, Any] | None = None  # the permit with a balance it grants (issue 20)
    charges: list[dict[str, Any]] = field(default_factory=list)  # its fees (issue 20), JSON lines


def agency_fee(
    beneficiary: str, tiyn: int, legal_basis: str, today: dt.date, days: int
) -> dict[str, Any]:
    """One fee line of a REST agency's answer (the Charge schema of its OpenAPI document): whole
    tiyn, KZT, due `days` after `today`, for `beneficiary` (the agency's own code)."""
    return {
        "kind": "agency-fee",
        "amount": tiyn,
        "currency": "KZT",
        "legalBasis": legal_basis,
        "due": (today + dt.timedelta(days=days)).isoformat(),
        "beneficiary": beneficiary,
    }


def chapter(hs_code: str) -> str:
    """The HS chapter: the first two digits of the 10-digit TN VED code."""
    return hs_code[:2]


def stop_event_on_signals() -> threading.Event:
    """An event set at SIGTERM or SIGINT: a stand-in process serves until it is set."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop
