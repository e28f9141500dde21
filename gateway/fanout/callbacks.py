"""Answers agencies send later (callbacks), and the rules that keep them honest.

The web layer (gateway/web/callbacks_soap.py, callbacks_rest.py) verifies the signature against the
agency's pinned certificate and hands the verified answer here. `CallbackService.accept` then:

1. finds the case (`UnknownCase`) and checks it belongs to the agency that signed (`NotYourCase`);
2. reads the answer with that agency's own answer mapping (`MalformedCallbackAnswer`; a callback
   must be final: "pending" is not an answer);
3. judges it against the case, under the application's row lock:
   - the same answer as the one recorded: a duplicate, answered with the original outcome, nothing
     written;
   - the case is granted or refused with a different answer: `LateAnswer`, nothing written;
   - otherwise (queued, pending, escalated, or held for inspection and now decided): recorded;
4. records it in the same transaction (`CallbackCases.answer_case`, gateway/fanout/ports.py): the
   callback as the web layer kept it (`raw`: a REST callback whole as a `wire.exchange` record, a
   SOAP callback as its signed envelope) as a message of kind "callback", the case fields, any open
   delivery closed, the decision composed.

Out of order: a callback may overtake the synchronous answer (the case is still queued, its
delivery in flight). It is accepted and settles the case; the dispatcher then finds the case
settled (`OutboxStore.settle` checks in the same transaction) and keeps it, recording the late
synchronous bytes only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from adapters.base import (
    AgencyAdapter,
    AgencyAnswer,
    AgencyCallFailed,
    AgencySpec,
    Credentials,
    Outcome,
)
from gateway.config import Config
from gateway.decision.ports import Decide
from gateway.decision.rules import CaseState
from gateway.errors import ConfigurationError
from gateway.fanout.callback_errors import (
    LateAnswer,
    MalformedCallbackAnswer,
    NotYourCase,
    UnknownCase,
)
from gateway.fanout.ports import CallbackCases, CaseUpdate, CaseView
from gateway.i18n.text import Text
from gateway.trail.messages import Message, sha256_hex

SOAP_CALLBACK_PATH = "/soap/callbacks"
REST_CALLBACK_PATH = "/api/v1/callbacks/"


def callback_url(public_url: str, spec: AgencySpec) -> str | None:
    """Where `spec`'s agency sends a later answer, or None when NSW_PUBLIC_URL is not set."""
    if not public_url:
        return None
    base = public_url.rstrip("/")
    if spec.protocol == "soap":
        return base + SOAP_CALLBACK_PATH
    return base + REST_CALLBACK_PATH + spec.code


def agency_credentials(
    config: Config, spec: AgencySpec, clock: Callable[[], dt.datetime]
) -> Credentials:
    """The gateway's key and certificate, and agency `spec.code`'s pinned certificate."""
    try:
        return Credentials.from_files(
            config.gateway_key,
            config.gateway_cert,
            config.pki_dir / f"agency-{spec.code}.pem",
            clock=clock,
            skew=dt.timedelta(seconds=config.clock_skew_s),
        )
    except ValueError as exc:
        raise ConfigurationError(
            Text("Agency %(code)s cannot be secured: %(exc)s", code=spec.code, exc=exc)
        ) from exc


@dataclass(frozen=True)
class CallbackOutcome:
    case_id: str
    result: str  # "recorded" | "duplicate"
    state: str  # the case's state afterwards


class CallbackService:
    """Accepts verified callbacks. Holds no per-call state; safe for every request thread."""

    def __init__(
        self,
        store: CallbackCases,
        adapters: Mapping[str, AgencyAdapter],
        pins: Mapping[str, x509.Certificate],
        decide: Decide,
        clock: Callable[[], dt.datetime],
        skew: dt.timedelta,
    ) -> None:
        self.store, self.adapters, self.pins = store, adapters, dict(pins)
        self.decide, self.clock, self.skew = decide, clock, skew

    def agency_by_certificate(self, der: bytes) -> str | None:
        """The agency whose pinned certificate is exactly `der` (a SOAP callback's token)."""
        for code, cert in self.pins.items():
            if cert.public_bytes(Encoding.DER) == der:
                return code
        return None

    def accept(
        self, agency: str, case_id: str, payload: Any, raw: bytes, content_type: str
    ) -> CallbackOutcome:
        """Record a verified answer from `agency` for `case_id`, or raise a `CallbackRefused`."""
        outcome: list[CallbackOutcome] = []

        def judge(case: CaseView | None) -> CaseUpdate | None:
            # Step 1: the case exists and is this agency's (read again under the row lock).
            if case is None:
                raise UnknownCase(
                    Text("There is no case %(case_id)r.", case_id=case_id), case_id=case_id
                )
            if case.agency != agency:
                raise NotYourCase(
                    Text(
                        "Case %(case_id)s is not a case of agency %(agency)s.",
                        case_id=case_id,
                        agency=agency,
                    ),
                    case_id=case_id,
                )
            # Step 2: the agency's own mapping reads it; a callback answer must be final.
            try:
                answer = self.adapters[agency].read_answer(
                    payload, case_id=case_id, answer_bytes=raw
                )
            except AgencyCallFailed as exc:
                raise MalformedCallbackAnswer(str(exc), case_id=case_id) from exc
            if answer.outcome is Outcome.PENDING:
                raise MalformedCallbackAnswer(
                    Text("A callback must carry the final answer, not 'pending'."), case_id=case_id
                )
            # Step 3: duplicate, late, or to be recorded.
            state = case.state
            if state.settled and _same(case, answer):
                outcome.append(CallbackOutcome(case_id, "duplicate", state.value))
                return None
            if state in (CaseState.GRANTED, CaseState.REFUSED) or state.closed:
                raise LateAnswer(
                    Text(
                        "Case %(case_id)s is already %(value)s; a different answer is not taken.",
                        case_id=case_id,
                        value=state.value,
                    ),
                    case_id=case_id,
                    state=state.value,
                )
            # Step 4: record it, close any open delivery, decide (in the same transaction).
            message = Message(
                "callback", "in", f"agency:{agency}", content_type, raw, case_id=case_id
            )
            new_state = CaseState(answer.outcome.value)
            outcome.append(CallbackOutcome(case_id, "recorded", new_state.value))
            return CaseUpdate(new_state, {**answer_fields(answer), "last_error": None}, [message])

        self.store.answer_case(case_id, judge, self.decide)
        return outcome[-1]


def answer_fields(answer: AgencyAnswer) -> dict[str, object]:
    """The case columns an answer sets (the same as for a synchronous answer)."""
    return {
        "permit_number": answer.permit_number,
        "valid_until": answer.valid_until.isoformat() if answer.valid_until else None,
        "reasons": [[r.code, r.text] for r in answer.reasons],
        "conditions": list(answer.conditions),
        "inspection": answer.inspection,
        "extra": dict(answer.extra),
        "charges": [charge.as_json() for charge in answer.charges],
        "answer_sha256": sha256_hex(answer.answer_bytes),
    }


def _same(case: CaseView, answer: AgencyAnswer) -> bool:
    """Does the recorded case say what `answer` says (outcome, permit, validity, reasons,
    conditions, inspection)? The envelope around it (timestamps, signatures) may differ."""
    valid_until = answer.valid_until.isoformat() if answer.valid_until else None
    recorded = (
        case.state.value,
        case.permit_number,
        case.valid_until,
        case.reasons,
        case.conditions,
    )
    return recorded == (
        answer.outcome.value,
        answer.permit_number,
        valid_until,
        tuple((r.code, r.text) for r in answer.reasons),
        tuple(answer.conditions),
    ) and (case.inspection or None) == (answer.inspection or None)
