"""`nsw amend ID FILE` and `nsw withdraw ID --reason CODE` against a running gateway (issue 19):
each signs with the trader's key; status then shows the versions and the cancelled permits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from gateway.cli.main import main
from gateway.pki.dev import DevPki
from gateway.resources import shipped


def nsw(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def trader(pki: DevPki) -> list[str]:
    return [
        "--key", str(pki.key_path("trader-kaztrans")),
        "--cert", str(pki.cert_path("trader-kaztrans")),
        "--chain", str(pki.directory / "issuing-ca.pem"),
    ]  # fmt: skip


def test_amend_then_withdraw_from_the_command_line(
    gateway_at: Callable[..., Any], pki: DevPki, signed_sample: Callable[..., bytes],
    tmp_path: Path,
) -> None:  # fmt: skip
    url, _, client = gateway_at()
    application_id = client.submit(signed_sample("overweight-machinery-transit"))["id"]
    reads = trader(pki)[:4]  # status and decision: key and certificate only
    waited = nsw("status", application_id, "--url", url, "--wait", "60", *reads)
    assert "decided, verdict inspection" in waited.output, waited.output

    corrected = tmp_path / "corrected.xml"
    original = (shipped("samples") / "overweight-machinery-transit.xml").read_text()
    corrected.write_text(original.replace('unit="pcs">12<', 'unit="pcs">11<'))
    amended = nsw("amend", application_id, str(corrected), "--url", url, *trader(pki))
    assert amended.exit_code == 0, amended.output
    assert f"{application_id}: version 2 accepted" in amended.output
    assert "changed: item 1 item.quantity: 12 -> 11" in amended.output
    assert "reopened: customs" in amended.output
    assert "untouched: transport, police" in amended.output

    waited = nsw("status", application_id, "--url", url, "--wait", "60", *reads)
    assert waited.exit_code == 0, waited.output
    assert "version 2 " in waited.output and "item.quantity: 12 -> 11" in waited.output
    assert "superseded" in waited.output

    withdrawn = nsw(
        "withdraw", application_id, "--reason", "lodged-in-error", "--url", url, *trader(pki)
    )
    assert withdrawn.exit_code == 0, withdrawn.output
    assert f"{application_id}: withdrawn; cancelling at customs, transport, police" in (
        withdrawn.output
    )
    again = nsw(
        "withdraw", application_id, "--reason", "lodged-in-error", "--url", url, *trader(pki)
    )
    assert again.exit_code == 1
    assert "withdrawn" in again.output and "Traceback" not in again.output
