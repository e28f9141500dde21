"""What `nsw submit`, `nsw status` and `nsw decision` print for a person, and the wait that stops
as soon as the outcome is known: a decision, or a case that will not be decided without a person
(escalated) or is already refused."""

from __future__ import annotations

import time
from typing import Any

from gateway.cli.client import GatewayClient

FINAL_CASE_STATES = ("granted", "refused", "inspection")


def submit_lines(answer: dict[str, Any], receipt_path: str | None) -> list[str]:
    """The short summary of the gateway's answer to a submission."""
    agencies = ", ".join(answer.get("agencies", [])) or "none"
    if answer.get("replay"):
        lines = [f"already lodged: {answer.get('note') or answer['id']}"]
    else:
        lines = [f"accepted: {answer['id']} ({answer['status']}) -> {agencies}"]
    if receipt_path:
        lines.append(f"receipt (signed by the gateway) saved to {receipt_path}")
    return lines


def status_lines(status: dict[str, Any]) -> list[str]:
    """One line for the application and one per case."""
    verdict = f", verdict {status['verdict']}" if status.get("verdict") else ""
    lines = [f"{status['id']}: {status['status']}{verdict}"]
    for case in status.get("cases", []):
        detail = (
            case.get("permit_number")
            or case.get("inspection")
            or "; ".join(r["text"] for r in case.get("reasons", []))
            or case.get("last_error")
            or ""
        )
        if case["state"] == "queued" and not detail:
            detail = _waiting_for(status, case["agency"])
        lines.append(f"  {case['agency']:<12} {case['state']:<11} {detail}".rstrip())
    # Issue 19: every signed version once amended, and the permits that no longer stand.
    for version in status.get("versions", []):
        changes = "; ".join(version.get("changes", [])) or "lodged"
        lines.append(f"  version {version['version']} {version['received_at']}: {changes}")
    for permit in status.get("permit_history", []):
        lines.append(f"  permit {permit['permit_number']} ({permit['agency']}) {permit['state']}")
    return lines


def _waiting_for(status: dict[str, Any], agency: str) -> str:
    """'waiting for the upload of ...' when the agency's case waits for documents."""
    missing = [
        f"{d['type']} {d['number']}"
        for d in status.get("documents", [])
        if not d.get("uploaded") and agency in d.get("wanted_by", [])
    ]
    return f"waiting for the upload of {', '.join(missing)} (nsw attach)" if missing else ""


def stopper(status: dict[str, Any]) -> str | None:
    """Why waiting for the decision is over, or None to go on waiting."""
    if status.get("status") == "decided":
        return None
    if status.get("status") == "withdrawn":
        return "the application was withdrawn by its declarant"
    for case in status.get("cases", []):
        if case["state"] == "escalated":
            return (
                f"the {case['agency']} case is escalated: {case.get('last_error') or 'no answer'}. "
                "It needs an operator (`nsw cases retry`); check NSW_AGENCY_"
                f"{case['agency'].upper()}_URL and that the agency is running."
            )
        if case["state"] == "refused":
            reasons = "; ".join(r["text"] for r in case.get("reasons", [])) or "no reason given"
            return f"{case['agency']} refused: {reasons}"
    return None


def wait_for_outcome(
    client: GatewayClient, application_id: str, wait_s: float
) -> tuple[dict[str, Any], str | None]:
    """Poll the status until it is decided, a case stops it (escalated, refused) or `wait_s`
    passes. Returns the last status and why the wait ended early (None: decided or timed out)."""
    give_up = time.monotonic() + wait_s
    delay = 0.1
    while True:
        status = client.status(application_id)
        if status.get("status") == "decided":
            return status, None
        reason = stopper(status)
        if reason is not None or time.monotonic() > give_up:
            return status, reason
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
