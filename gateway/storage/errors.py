"""Database errors in the gateway's own words, for the edges (web, CLI) that must not know the
driver or SQLAlchemy: a lost connection is `DatabaseUnavailable` (503, Retry-After); for a database
that cannot be used at all the CLI gets a sentence naming it (without its password).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from gateway.errors import DatabaseUnavailable, GatewayError
from gateway.i18n import Text
from gateway.storage.db import is_disconnect


def translate(exc: BaseException) -> GatewayError | None:
    """`exc` as a gateway error if it is a database error met outside a store's transaction
    (whose lost connections are `DatabaseUnavailable` already); None for anything else."""
    if isinstance(exc, DBAPIError) and is_disconnect(exc):
        lost = DatabaseUnavailable(
            Text(
                "The gateway lost its database connection while handling this request. "
                "Send the same request again."
            )
        )
        lost.__cause__ = exc
        return lost
    return None


def unusable(exc: BaseException, database_url: str) -> str | None:
    """Why the database at `database_url` cannot be used, if `exc` says so (the CLI's sentence
    for a database it cannot open, a URL that is not one); None for anything else."""
    if isinstance(exc, ArgumentError):
        return Text(
            "NSW_DATABASE_URL is not a database URL (%(exc)s); e.g. sqlite:///var/nsw.db.", exc=exc
        )
    if not isinstance(exc, DBAPIError):
        return None
    try:
        shown = (
            make_url(database_url).render_as_string(hide_password=True)
            if database_url
            else Text("the default")
        )
    except ArgumentError:
        shown = database_url
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return Text(
        "The database %(shown)s cannot be used: %(reason)s. Check NSW_DATABASE_URL (host, port, "
        "database name, user) and that the database exists and is running.",
        shown=shown,
        reason=reason,
    )


def sqlite_file(database_url: str) -> Path | None:
    """The SQLite file `database_url` names, if it names one."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)
