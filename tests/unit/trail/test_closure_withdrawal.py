"""The log's closure rule and a withdrawal (issue 19): the withdrawn decision comes before the
answers to the cases it cancels, and that is an intact log; without the withdrawal it is not."""

from __future__ import annotations

from gateway.trail.format import entry_bytes
from gateway.trail.log_verify import LogReport, _check_closure


def _entry(kind: str, case: str | None = None) -> bytes:
    return entry_bytes({"application_id": "APP-1", "kind": kind, "case_id": case})


def test_a_withdrawn_decision_may_precede_the_answers_of_the_cases_it_cancels() -> None:
    entries = [
        _entry("application"),
        _entry("agency-request", "APP-1-customs"),
        _entry("withdrawal"),
        _entry("decision"),
        _entry("agency-request", "APP-1-customs"),  # the cancellation
        _entry("agency-answer", "APP-1-customs"),
    ]
    report = LogReport()
    _check_closure(entries, report)
    assert report.ok, [c.line() for c in report.checks]


def test_without_the_withdrawal_the_same_order_is_broken() -> None:
    entries = [
        _entry("application"),
        _entry("agency-request", "APP-1-customs"),
        _entry("decision"),
    ]
    report = LogReport()
    _check_closure(entries, report)
    assert not report.ok and report.first_bad_index == 2
