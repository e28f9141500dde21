"""Issue 14 item 2: shipped data is found through the package, mutable state under NSW_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.resources import (
    SHIPPED,
    contracts_root,
    default_database_url,
    nsw_home,
    shipped,
    shipped_file,
)


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_package_is_a_real_directory(name: str) -> None:
    assert shipped(name).is_dir()


def test_the_contracts_the_gateway_reads_are_shipped() -> None:
    assert shipped_file("wsdl/customs/customs.wsdl").is_file()
    assert (shipped("mappings") / "routing.toml").is_file()
    assert (shipped("samples") / "expected.toml").is_file()
    assert (shipped("migrations") / "versions").is_dir()
    assert (contracts_root() / "wsdl" / "application" / "application.xsd").is_file()


def test_only_shipped_data_is_asked_for() -> None:
    with pytest.raises(ValueError, match="not shipped data"):
        shipped("certs")


def test_nsw_home_comes_from_the_environment_then_xdg_then_home(tmp_path: Path) -> None:
    assert nsw_home({"NSW_HOME": str(tmp_path / "h")}) == tmp_path / "h"
    assert nsw_home({"XDG_DATA_HOME": str(tmp_path / "x")}) == tmp_path / "x" / "nsw"
    assert nsw_home({"HOME": str(tmp_path)}) == tmp_path / ".local" / "share" / "nsw"


def test_database_and_pki_default_to_the_data_directory(tmp_path: Path) -> None:
    config = load_config({"NSW_HOME": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path / 'nsw.db'}"
    assert config.pki_dir == tmp_path / "pki"
    assert config.gateway_key == tmp_path / "pki" / "gateway.key"
    assert default_database_url({"NSW_HOME": str(tmp_path)}) == config.database_url


def test_explicit_settings_win_over_the_data_directory(tmp_path: Path) -> None:
    config = load_config(
        {"NSW_HOME": str(tmp_path), "NSW_PKI_DIR": "/etc/nsw/pki", "NSW_DATABASE_URL": "sqlite://"}
    )
    assert config.pki_dir == Path("/etc/nsw/pki")
    assert config.database_url == "sqlite://"


@pytest.mark.parametrize(
    "env",
    [{"NSW_PKI_DIR": "/etc/nsw/pki"}, {"NSW_HOME": "/srv/nsw"}, {"XDG_DATA_HOME": "/data"}, {}],
)
def test_the_simulators_find_the_dev_pki_where_the_gateway_makes_it(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from simulators.security import default_pki_dir

    for name in ("NSW_PKI_DIR", "NSW_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert default_pki_dir() == load_config().pki_dir
