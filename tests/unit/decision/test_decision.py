"""The single decision composed from every agency's case."""

from gateway.decision.rules import CaseResult, CaseState, Verdict, compose


def case(agency: str, state: CaseState, **kw: object) -> CaseResult:
    return CaseResult(agency=agency, state=state, **kw)  # type: ignore[arg-type]


def test_released_only_when_every_case_is_granted() -> None:
    decision = compose(
        [
            case("customs", CaseState.GRANTED, permit_number="C1"),
            case("health", CaseState.GRANTED, permit_number="H1"),
        ]
    )
    assert decision is not None
    assert decision.verdict is Verdict.RELEASED
    assert "customs C1" in decision.summary and "health H1" in decision.summary


def test_no_decision_while_any_case_is_open() -> None:
    for open_state in (CaseState.QUEUED, CaseState.PENDING, CaseState.ESCALATED):
        assert compose([case("customs", CaseState.GRANTED), case("health", open_state)]) is None
    assert compose([]) is None


def test_refusal_wins_and_keeps_every_reason() -> None:
    decision = compose(
        [
            case("customs", CaseState.INSPECTION, inspection="red channel"),
            case("veterinary", CaseState.REFUSED, reasons=(("VET-1", "origin restricted"),)),
            case("health", CaseState.REFUSED, reasons=(("SAN-2", "not registered"),)),
        ]
    )
    assert decision is not None
    assert decision.verdict is Verdict.REFUSED
    assert "origin restricted [VET-1]" in decision.summary
    assert "not registered [SAN-2]" in decision.summary


def test_inspection_names_the_agency_and_the_place() -> None:
    decision = compose(
        [
            case("customs", CaseState.GRANTED, permit_number="C1"),
            case("transport", CaseState.INSPECTION, inspection="weighing at KZ-NURZHOLY"),
        ]
    )
    assert decision is not None
    assert decision.verdict is Verdict.INSPECTION
    assert decision.summary == "HELD FOR INSPECTION — transport: weighing at KZ-NURZHOLY"


def test_granted_not_released_while_an_agency_charged_something() -> None:
    duty = {"kind": "customs-duty", "amount": 12345, "currency": "KZT",
            "legalBasis": "tariff", "due": "2026-12-17", "kbk": "106104"}  # fmt: skip
    decision = compose(
        [
            case("customs", CaseState.GRANTED, permit_number="C1", charges=(duty,)),
            case("health", CaseState.GRANTED, permit_number="H1"),
        ]
    )
    assert decision is not None
    assert decision.verdict is Verdict.GRANTED
    assert "released once the payment order is paid" in decision.summary
    assert "customs 123.45 KZT" in decision.summary
