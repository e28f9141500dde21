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
from gateway.i18n.cli import cli_gettext, say
from gateway.i18n.text import Text


class FriendlyGroup(click.Group):
    """A click group whose commands (and their sub-groups) end expected failures with a
    sentence. Click prints a `ClickException` as `Error: <sentence>` and exits 1."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command with its help texts in NSW_LANG (gateway.cli.help)."""
        from gateway.cli.help import localize_help

        localize_help(self, cli_gettext())
        return super().main(*args, **kwargs)

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
        return say(sentence)
    if isinstance(exc, GatewayError):
        return say(exc.detail)  # in NSW_LANG (gateway.i18n.cli)
    if isinstance(exc, ApiProblem):
        return str(exc)
    if isinstance(exc, requests.ConnectionError):
        return say(
            Text(
                "Nothing answers at %(where)s: start the gateway (`nsw serve`) or point --url "
                "(or NSW_URL) at a running one.",
                where=_where(exc),
            )
        )
    if isinstance(exc, requests.Timeout):
        return say(
            Text(
                "The gateway at %(where)s did not answer in time; try again, or check its log.",
                where=_where(exc),
            )
        )
    if isinstance(exc, json.JSONDecodeError):
        return say(
            Text(
                "That file is not JSON (%(error)s at line %(line)s, column %(column)s).",
                error=exc.msg,
                line=exc.lineno,
                column=exc.colno,
            )
        )
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = exc.strerror or type(exc).__name__
        database = _sqlite_file()
        if database is not None and database.is_relative_to(Path(str(exc.filename))):
            return say(
                Text(
                    "The SQLite database %(database)s cannot be made there (%(reason)s: "
                    "%(filename)s). Set NSW_DATABASE_URL to a file in a directory you can write.",
                    database=database,
                    reason=reason,
                    filename=exc.filename,
                )
            )
        return say(
            Text(
                "%(reason)s: %(filename)s. Check the path (and, for the database, "
                "NSW_DATABASE_URL).",
                reason=reason,
                filename=exc.filename,
            )
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
