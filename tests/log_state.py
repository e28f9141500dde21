"""Where the trail signer of a test's gateway keeps its state file."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path


def log_state_for(database_url: str) -> Path:
    """The trail signer's state file for this test's database. The signer remembers the last
    checkpoint it signed, so each test's fresh database needs a fresh memory, not the one beside
    the session's log key: beside the SQLite file, or per test for the emptied PostgreSQL."""
    if database_url.startswith("sqlite:///"):
        return Path(database_url[len("sqlite:///") :]).with_name("log-state")
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    tag = hashlib.sha256(f"{os.getpid()} {test}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "nsw-test-log-state" / tag / "log-state"


def forget_log_state(database_url: str) -> None:
    if not database_url.startswith("sqlite:///"):
        shutil.rmtree(log_state_for(database_url).parent, ignore_errors=True)
