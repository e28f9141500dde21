"""`nsw` commands that read the gateway's database end with the gateway's sentence, not a stack
trace, when asked for something that is not there."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gateway.cli import main
from gateway.pki import DevPki


def test_exporting_an_unknown_application_says_so(pki: DevPki, tmp_path: Path) -> None:
    env = {"NSW_PKI_DIR": str(pki.directory), "NSW_DATABASE_URL": f"sqlite:///{tmp_path}/nsw.db"}
    result = CliRunner().invoke(main, ["audit", "export", "NSW-20261123-0000000000"], env=env)
    assert result.exit_code == 1
    assert "There is no application NSW-20261123-0000000000" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an uncaught error


def test_a_missing_gateway_key_is_named(tmp_path: Path) -> None:
    env = {
        "NSW_PKI_DIR": str(tmp_path / "nowhere"),
        "NSW_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    result = CliRunner().invoke(main, ["cases", "list"], env=env)
    assert result.exit_code == 1
    assert "signing key or certificate is missing" in result.output
    assert isinstance(result.exception, SystemExit)
