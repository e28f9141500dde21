"""The log's Ed25519 key in the dev PKI, and the operator's reset of a refusing signer (CLI)."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import delete

from gateway.bootstrap import build_services
from gateway.cli.main import main
from gateway.config import load_config
from gateway.pki.dev import LOG_KEY_FILE, LOG_VKEY_FILE, DevPki, init_dev_pki
from gateway.storage.models import MessageRow, TrailNodeRow
from gateway.storage.repository import Message
from gateway.trail.checkpoint import verifier_from_vkey
from gateway.trail.keys import load_log_signer


def test_pki_init_adds_the_log_key_to_an_existing_pki(pki: DevPki, tmp_path: Path) -> None:
    old = tmp_path / "pki"
    shutil.copytree(pki.directory, old)
    (old / LOG_KEY_FILE).unlink()
    (old / LOG_VKEY_FILE).unlink()
    gateway_pem = (old / "gateway.pem").read_bytes()
    init_dev_pki(old, log_origin="example.kz/trail")
    assert (old / LOG_KEY_FILE).stat().st_mode & 0o777 == 0o600
    vkey = (old / LOG_VKEY_FILE).read_text().strip()
    assert vkey.startswith("example.kz/trail+")
    assert (
        verifier_from_vkey(vkey) == load_log_signer(old / LOG_KEY_FILE, "example.kz/trail").verifier
    )
    assert (old / "gateway.pem").read_bytes() == gateway_pem  # nothing else changes


def test_an_operator_resets_a_refusing_signer_from_the_cli(pki: DevPki, tmp_path: Path) -> None:
    env = {
        "NSW_PKI_DIR": str(pki.directory),
        "NSW_DATABASE_URL": f"sqlite:///{tmp_path / 'nsw.db'}",
        "NSW_LOG_STATE": str(tmp_path / "log-state"),
    }
    services = build_services(load_config(env))
    try:
        with services.store.transaction() as s:
            for n in range(3):
                services.store._add_message(
                    s, None, Message("note", "in", "t", "text/plain", b"%d" % n)
                )
        services.auditor.issue_tree_head()
        with services.store.transaction() as s:
            s.execute(delete(MessageRow).where(MessageRow.seq == 2))
            s.execute(delete(TrailNodeRow).where(TrailNodeRow.level == 0, TrailNodeRow.idx == 2))
        assert services.auditor.signer_refusal() == ""
    finally:
        services.close()
    runner = CliRunner(env=env)
    export = runner.invoke(main, ["audit", "export-tiles", str(tmp_path / "out")])
    assert export.exit_code == 1 and "fewer than the 3" in export.output
    unconfirmed = runner.invoke(
        main, ["audit", "signer-reset", "--operator", "ops", "--reason", "restored"]
    )
    assert unconfirmed.exit_code != 0 and "--i-have-investigated" in unconfirmed.output
    reset = runner.invoke(
        main,
        ["audit", "signer-reset", "--i-have-investigated", "--operator", "ops",
         "--reason", "row 2 lost in a faulty restore", "--accept-current-log"],
    )  # fmt: skip
    assert reset.exit_code == 0, reset.output
    assert "entry 2: accept-current-log" in reset.output
    export = runner.invoke(main, ["audit", "export-tiles", str(tmp_path / "out")])
    assert export.exit_code == 0 and "tree size 3" in export.output
    assert list(tmp_path.glob("log-state.*"))  # the forgotten state is kept as evidence
