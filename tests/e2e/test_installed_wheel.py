"""Issue 14 item 2: the wheel alone, installed in a fresh venv and run from an empty directory,
routes a sample, migrates its database and runs the whole demo, writing only under NSW_HOME.

Offline: the wheel is built by uv from a copy of the sources (uv's cache holds the locked build
backend), installed with `--no-deps` into a venv made without pip, and the locked dependencies are
made importable by a `.pth` line naming the project's `.venv` site-packages. Lines in a `.pth`
only extend `sys.path` after the venv's own site-packages, and `.pth` files in that directory are not
processed, so the checkout's editable install of the gateway is not seen: what runs is the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

pytestmark = pytest.mark.slow

UV = REPO_ROOT / ".tools" / "uv" / "bin" / "uv"


def _sources() -> tuple[str, ...]:
    """What the build reads: the packages pyproject.toml includes (their top folders), and the
    files it names. Taken from pyproject itself, so a new package cannot be left out of the copy."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = dict.fromkeys(name.rstrip("*").split(".")[0] for name in include)
    return ("pyproject.toml", "README.md", "LICENSE", *packages)


SOURCES = _sources()


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def _build_wheel(work: Path) -> Path:
    source = work / "src"
    source.mkdir()
    for name in SOURCES:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        elif (REPO_ROOT / name).exists():
            shutil.copy2(REPO_ROOT / name, source / name)
    subprocess.run(
        [str(UV), "build", "--wheel", "--offline", "--no-progress", "-o", str(work / "dist"),
         str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (work / "dist").glob("nsw_gateway-*.whl")
    return wheel


def _install(wheel: Path, venv: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "_nsw_locked_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return Path(site)


@pytest.mark.skipif(not UV.exists(), reason="needs the pinned uv that ./dev installs in .tools/")
def test_the_installed_wheel_runs_from_anywhere_and_writes_only_under_nsw_home(
    tmp_path: Path,
) -> None:
    site = _install(_build_wheel(tmp_path), tmp_path / "venv")
    assert (site / "wsdl" / "customs" / "customs.wsdl").is_file()
    assert not (site / "certs").exists()
    before = _snapshot(site)
    empty, home = tmp_path / "empty", tmp_path / "nsw-home"
    empty.mkdir()
    # Nothing of the checkout's environment: no NSW_PKI_DIR or NSW_DATABASE_URL from ./dev, and a
    # HOME of its own, so every default is the installed package's. No bytecode is written, so the
    # snapshot sees only what the gateway itself writes.
    env = {"PATH": f"{tmp_path / 'venv' / 'bin'}:{os.environ['PATH']}", "NSW_HOME": str(home),
           "HOME": str(tmp_path / "user"), "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}  # fmt: skip

    def nsw(*args: str) -> str:
        done = subprocess.run(["nsw", *args], cwd=empty, env=env, capture_output=True, text=True,
                              timeout=600, check=False)  # fmt: skip
        assert done.returncode == 0, f"nsw {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    route = nsw("route", str(site / "samples" / "live-cattle-import.xml"))
    assert "-> veterinary: veterinary-decision-317" in route
    assert "application -> police: police-road-entry" in route
    assert "database is at the newest schema" in nsw("db", "upgrade")
    assert "every decision is the expected one" in nsw("demo")

    assert _snapshot(site) == before
    assert list(empty.iterdir()) == []
    assert (home / "nsw.db").is_file()
    assert (home / "pki" / "gateway.key").stat().st_mode & 0o077 == 0
    assert (home / "demo" / "logs" / "gateway.log").is_file()
