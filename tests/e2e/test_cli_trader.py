"""What a trader sees from `nsw submit`, `nsw status --wait` and `nsw decision` against a running
gateway: a summary and the saved receipt, a replay named as the earlier application, a wait that
ends as soon as a case is escalated (naming the agency and why), and the saved signed decision."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from devtools.processes import free_port
from gateway.bootstrap import Services
from gateway.cli.main import main
from gateway.pki.dev import DevPki
from tests.gateway_fixtures import KeyringClient


def nsw(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def signed_file(signed_sample: Callable[..., bytes], tmp_path: Path) -> Path:
    path = tmp_path / "signed.xml"
    path.write_bytes(signed_sample("fresh-apples-import"))
    return path


def trader(pki: DevPki) -> list[str]:
    return [
        "--key",
        str(pki.key_path("trader-steppe")),
        "--cert",
        str(pki.cert_path("trader-steppe")),
    ]


def test_submit_wait_and_save_the_decision(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    pki: DevPki,
    signed_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _, _ = gateway_at()
    monkeypatch.chdir(tmp_path)
    lodged = nsw("submit", str(signed_file), "--url", url)
    assert lodged.exit_code == 0, lodged.output
    application_id = lodged.stdout.strip()  # the id alone on stdout
    assert f"accepted: {application_id} (in_progress)" in lodged.output
    assert f"receipt (signed by the gateway) saved to {application_id}.receipt.xml" in lodged.output
    assert b"<Receipt" in (tmp_path / f"{application_id}.receipt.xml").read_bytes()

    waited = nsw("status", application_id, "--url", url, "--wait", "120", *trader(pki))
    assert waited.exit_code == 0, waited.output
    assert f"{application_id}: decided, verdict granted" in waited.output

    saved = nsw("decision", application_id, "--url", url, "-o", "decision.xml", *trader(pki))
    assert saved.exit_code == 0, saved.output
    assert b"<Outcome>granted</Outcome>" in (tmp_path / "decision.xml").read_bytes()

    # The same bytes again: not a new application, and the answer says so.
    again = nsw("submit", str(signed_file), "--url", url, "--json")
    answer = json.loads(again.stdout)
    assert answer["id"] == application_id and answer["replay"] is True
    assert "this is that earlier application, now decided (granted)" in answer["note"]


def test_a_replay_of_an_escalated_application_says_so(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    pki: DevPki,
    signed_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    url, _, _ = gateway_at(agency_urls={"customs": nobody}, max_attempts=1)
    monkeypatch.chdir(tmp_path)
    application_id = nsw("submit", str(signed_file), "--url", url).stdout.strip()

    # --wait ends as soon as the customs case is escalated, not after 600 s, and says why.
    waited = nsw("status", application_id, "--url", url, "--wait", "600", *trader(pki))
    assert waited.exit_code == 1
    assert re.search(r"customs +escalated +customs: could not connect", waited.output)
    assert "no decision yet: the customs case is escalated" in waited.output
    assert "NSW_AGENCY_CUSTOMS_URL" in waited.output

    again = nsw("submit", str(signed_file), "--url", url)
    assert again.exit_code == 0 and again.stdout.strip() == application_id
    assert "already lodged" in again.output and "customs escalated" in again.output
