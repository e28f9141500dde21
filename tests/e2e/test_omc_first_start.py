"""Issue 14 item 4: the README's "First start" of the OMC, step by step, from an empty data
directory to a signed-in administrator over plain http on 127.0.0.1."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import requests

from devtools.processes import free_port, wait_for_port

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "first-start-passphrase-42"


def test_from_nothing_to_a_signed_in_administrator(tmp_path: Path) -> None:
    # Only what the README sets: the data directory, nothing from the checkout's ./dev.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NSW_")}
    env["NSW_HOME"] = str(tmp_path / "nsw-home")

    def nsw(*args: str, **extra: str) -> str:
        done = subprocess.run([sys.executable, "-m", "gateway.cli.main", *args], env={**env, **extra},
                              cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, f"nsw {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    nsw("pki", "init")
    nsw("db", "upgrade")
    nsw("omc", "users", "add", "root", "--role", "admin", NSW_OMC_PASSWORD=PASSWORD)

    port = free_port()
    serve_env = {**env, "NSW_SECRET_KEY": secrets.token_urlsafe(32),
                 "NSW_SESSION_COOKIE_SECURE": "0", "NSW_DISPATCHER_THREADS": "0"}  # fmt: skip
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli.main", "serve", "--port", str(port),
             "--allow-missing-agencies"],
            env=serve_env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_port(port, server, deadline_s=60)
        base = f"http://127.0.0.1:{port}"
        browser = requests.Session()
        login = browser.get(f"{base}/omc", timeout=10)
        assert "/omc/login" in login.url, login.url
        found = TOKEN.search(login.text)
        assert found, login.text
        signed_in = browser.post(f"{base}/omc/login", timeout=10, data={
            "username": "root", "password": PASSWORD, "csrf_token": found.group(1)})  # fmt: skip
        assert signed_in.status_code == 200 and "/omc/login" not in signed_in.url
        admin = browser.get(f"{base}/omc/admin", timeout=10, allow_redirects=False)
        assert admin.status_code == 200 and "root" in admin.text
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (tmp_path / "nsw-home" / "nsw.db").is_file()
    assert (tmp_path / "nsw-home" / "pki" / "gateway.key").is_file()
