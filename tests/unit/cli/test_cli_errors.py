"""`nsw` commands that read the gateway's database end with the gateway's sentence, not a stack
trace, when asked for something that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from devtools.processes import free_port
from gateway.cli.main import main
from gateway.pki.dev import DevPki
from tests.conftest import SAMPLES


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


@pytest.mark.parametrize(
    ("language", "words"),
    [("ru", "Нет ключа подписи или сертификата шлюза"), ("kk", "кілті немесе сертификаты жоқ")],
)
def test_a_configuration_error_is_said_in_nsw_lang(
    tmp_path: Path, language: str, words: str
) -> None:
    env = {
        "NSW_PKI_DIR": str(tmp_path / "nowhere"),
        "NSW_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "NSW_LANG": language,
    }
    output = _fails_cleanly(["cases", "list"], env)
    assert words in output and str(tmp_path / "nowhere") in output and "nsw pki init" in output


# --- everyday mistakes: one or two sentences and exit code 1, never a traceback ------------------


def _fails_cleanly(args: list[str], env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # handled, not a crash
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 2, result.output
    return result.output


def _trader(pki: DevPki) -> list[str]:
    return [
        "--key",
        str(pki.key_path("trader-steppe")),
        "--cert",
        str(pki.cert_path("trader-steppe")),
    ]


@pytest.fixture
def nobody() -> str:
    """A URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


def test_submit_with_the_server_down(nobody: str) -> None:
    output = _fails_cleanly(["submit", str(SAMPLES / "fresh-apples-import.xml"), "--url", nobody])
    assert f"Nothing answers at {nobody}" in output and "nsw serve" in output


def test_the_server_down_is_said_in_nsw_lang(nobody: str) -> None:
    args = ["submit", str(SAMPLES / "fresh-apples-import.xml"), "--url", nobody]
    assert f"По адресу {nobody} никто не отвечает" in _fails_cleanly(args, {"NSW_LANG": "ru"})
    assert f"{nobody} мекенжайында ешкім жауап бермейді" in _fails_cleanly(args, {"NSW_LANG": "kk"})


def test_a_file_that_is_not_an_application_is_said_in_nsw_lang(tmp_path: Path) -> None:
    other = tmp_path / "invoice.xml"
    other.write_text("<Invoice><Total>10</Total></Invoice>")
    output = _fails_cleanly(["route", str(other)], {"NSW_LANG": "ru"})
    assert "invoice.xml — не заявление единого окна" in output


def test_status_with_the_server_down(pki: DevPki, nobody: str) -> None:
    output = _fails_cleanly(["status", "NSW-20261123-0000000000", "--url", nobody, *_trader(pki)])
    assert f"Nothing answers at {nobody}" in output


def test_notify_url_with_the_server_down(pki: DevPki, nobody: str) -> None:
    args = ["notify-url", "show", "210540012341", "--url", nobody, *_trader(pki)]
    assert f"Nothing answers at {nobody}" in _fails_cleanly(args)


def test_a_postgres_database_that_does_not_exist(pki: DevPki) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/nsw_no_such_db"
    output = _fails_cleanly(
        ["cases", "list"], {"NSW_PKI_DIR": str(pki.directory), "NSW_DATABASE_URL": url}
    )
    assert "nsw_no_such_db" in output and "Check NSW_DATABASE_URL" in output


def test_a_database_directory_that_cannot_be_made(pki: DevPki, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    env = {
        "NSW_PKI_DIR": str(pki.directory),
        "NSW_DATABASE_URL": f"sqlite:///{tmp_path}/a-file/var/nsw.db",
    }
    output = _fails_cleanly(["cases", "list"], env)
    assert f"The SQLite database {tmp_path}/a-file/var/nsw.db cannot be made there" in output
    assert "NSW_DATABASE_URL" in output


def test_sign_malformed_xml(pki: DevPki, tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<Application><unclosed></Application>")
    output = _fails_cleanly(["sign", str(broken), *_trader(pki)])
    assert "broken.xml" in output and "not well-formed" in output.lower()


def test_route_malformed_xml(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<Application>")
    assert "broken.xml" in _fails_cleanly(["route", str(broken)])


def test_route_xml_that_is_not_an_application(tmp_path: Path) -> None:
    other = tmp_path / "invoice.xml"
    other.write_text("<Invoice><Total>10</Total></Invoice>")
    output = _fails_cleanly(["route", str(other)])
    assert "is not a single-window application" in output


def test_route_an_application_that_breaks_the_schema(tmp_path: Path) -> None:
    raw = (SAMPLES / "fresh-apples-import.xml").read_bytes()
    start, end = raw.index(b"<Transport>"), raw.index(b"</Transport>") + len(b"</Transport>")
    partial = tmp_path / "partial.xml"
    partial.write_bytes(raw[:start] + raw[end:])
    assert "does not match the application schema" in _fails_cleanly(["route", str(partial)])


def test_sign_with_the_certificate_as_key(pki: DevPki) -> None:
    cert = str(pki.cert_path("trader-steppe"))
    args = ["sign", str(SAMPLES / "fresh-apples-import.xml"), "--key", cert, "--cert", cert]
    assert "is a certificate, not a private key" in _fails_cleanly(args)


def test_sign_with_a_key_that_is_not_the_certificates(pki: DevPki, tmp_path: Path) -> None:
    args = [
        "sign",
        str(SAMPLES / "fresh-apples-import.xml"),
        "--key",
        str(pki.key_path("trader-altyn")),
        "--cert",
        str(pki.cert_path("trader-steppe")),
        "-o",
        str(tmp_path / "signed.xml"),
    ]
    assert "is not the key of the certificate" in _fails_cleanly(args)
    assert not (tmp_path / "signed.xml").exists()


def test_audit_verify_a_file_that_is_not_json(pki: DevPki) -> None:
    not_json = pki.cert_path("gateway")
    ca = str(pki.directory / "root-ca.pem")
    args = ["audit", "verify", str(not_json), "--ca", ca, "--gateway-cert", str(not_json)]
    assert "is not JSON" in _fails_cleanly(args)
