"""The `nsw` command's one top-level handler: an expected failure ends in a sentence that says what
to do and exit code 1, never a traceback.

Expected failures are the gateway's own (`GatewayError`), a gateway that does not answer, a database
that cannot be opened, a file that cannot be read, and input that is not what the command takes.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import requests

from gateway.errors import GatewayError


class FriendlyGroup(click.Group):
    """A click group whose commands (and their sub-groups) end expected failures with a
    sentence. Click prints a `ClickException` as `Error: <sentence>` and exits 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            sentence = explain(exc)
            if sentence is None:
                raise
            raise click.ClickException(sentence) from exc


def explain(exc: BaseException) -> str | None:
    """The sentence for an expected failure, or None for a bug."""
    from gateway.cli.client import ApiProblem
    from gateway.storage.errors import unusable

    if (sentence := unusable(exc, os.environ.get("NSW_DATABASE_URL", ""))) is not None:
        return sentence
    if isinstance(exc, GatewayError):
        return exc.detail
    if isinstance(exc, ApiProblem):
        return str(exc)
    if isinstance(exc, requests.ConnectionError):
        return (
            f"Nothing answers at {_where(exc)}: start the gateway (`nsw serve`) or point --url "
            "(or NSW_URL) at a running one."
        )
    if isinstance(exc, requests.Timeout):
        return f"The gateway at {_where(exc)} did not answer in time; try again, or check its log."
    if isinstance(exc, json.JSONDecodeError):
        return f"That file is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = exc.strerror or type(exc).__name__
        database = _sqlite_file()
        if database is not None and database.is_relative_to(Path(str(exc.filename))):
            return (
                f"The SQLite database {database} cannot be made there ({reason}: {exc.filename}). "
                "Set NSW_DATABASE_URL to a file in a directory you can write."
            )
        return (
            f"{reason}: {exc.filename}. Check the path (and, for the database, NSW_DATABASE_URL)."
        )
    if isinstance(exc, TimeoutError):
        return str(exc)
    return None


def _sqlite_file() -> Path | None:
    """The SQLite file NSW_DATABASE_URL names, if it names one."""
    from gateway.storage.errors import sqlite_file

    return sqlite_file(os.environ.get("NSW_DATABASE_URL", ""))


def _where(exc: requests.RequestException) -> str:
    url = getattr(exc.request, "url", None) or ""
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "the gateway's URL"
