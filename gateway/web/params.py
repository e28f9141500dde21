"""Values from outside, checked at the edge against the column they will land in.

Every query parameter, path parameter, form field and header parameter a route takes goes through
one of these helpers before it reaches a query or a column, so an over-long string or an integer
past BIGINT is a 4xx problem document here, never a database error (a 500) deeper down. PostgreSQL
refuses a `varchar(n)` overflow and SQLite an integer past 2^63-1, but each in its own way and only
at commit; the limits below name the column each value is bound for (gateway/storage/models.py).

- `Text` (gateway.limits): a bounded string with a character set (a column's width and what
  may be in it), and the kinds the columns take;
- `bounded_int`, `query_int`: ASCII decimal integers within a range (0..2^63-1 by default);
- `query_text`, `query_choice`, `path_text`, `form_text`: the same checks on request values;
- `BoundedIntConverter`, `BoundedStringConverter`: Flask URL converters with those bounds, so a
  path segment no route could mean is a 404 before any view runs.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter, Map, UnicodeConverter, ValidationError

from gateway.errors import InvalidParameter, NotFound
from gateway.i18n import Text as Sentence
from gateway.limits import INT63_MAX, Text, shown

PATH_SEGMENT_MAX = 128  # longer than any id the gateway issues (the longest column is 64)
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: str.isdigit() also accepts "²"


def bounded_int(raw: str, name: str, *, low: int = 0, high: int = INT63_MAX) -> int:
    """`raw` as an integer in low..high, or a 400 `invalid-parameter` problem saying the range."""
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidParameter(
            Sentence(
                "%(name)s must be a whole number from %(low)s to %(high)s, not %(value)s.",
                name=repr(name),
                low=low,
                high=high,
                value=shown(raw),
            ),
            parameter=name,
        )
    return int(raw)


def query_int(
    name: str, *, default: int | None = None, low: int = 0, high: int = INT63_MAX
) -> int | None:
    """The query parameter `name` as an integer in low..high; `default` when absent or empty."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    return bounded_int(raw, name, low=low, high=high)


def check_text(value: str, name: str, kind: Text) -> str:
    """`value` if it is of `kind`, else a 400 `invalid-parameter` problem naming the limits."""
    if not kind.matches(value):
        raise InvalidParameter(kind.sentence(name), parameter=name)
    return value


def query_text(name: str, kind: Text) -> str | None:
    """The query parameter `name` checked as `kind`; None when absent or empty."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    return check_text(raw, name, kind)


def query_choice(name: str, choices: Collection[str]) -> str | None:
    """The query parameter `name`, which must be one of `choices`; None when absent or empty."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise InvalidParameter(
            Sentence(
                "%(name)s must be one of %(choices)s, not %(value)s.",
                name=repr(name),
                choices=", ".join(sorted(choices)),
                value=shown(raw),
            ),
            parameter=name,
        )
    return raw


def form_text(name: str, kind: Text, default: str = "") -> str:
    """The form field `name` checked as `kind` (absent: `default`, which is not checked)."""
    raw = request.form.get(name)
    if raw is None:
        return default
    return check_text(raw, name, kind)


def path_text(value: str, kind: Text, what: str) -> str:
    """A path parameter naming a resource: one that cannot be of `kind` names nothing (404)."""
    if not kind.matches(value):
        raise NotFound(
            Sentence(
                "There is no %(what)s %(value)s; %(rule)s",
                what=what,
                value=shown(value),
                rule=kind.sentence("id"),
            )
        )
    return value


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` within 0..2^63-1 (BIGINT), so a huge number is a 404, not an overflow (and a
    10,000-digit one never reaches int(), which refuses past 4,300 digits with a ValueError)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT63_MAX)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        if len(value) > 19:
            raise ValidationError()
        return super().to_python(value)


class BoundedStringConverter(UnicodeConverter):
    """The default `<name>` converter with a length cap: no id of the gateway's is longer."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        if "length" not in kwargs:
            kwargs.setdefault("maxlength", PATH_SEGMENT_MAX)
        super().__init__(map, *args, **kwargs)


def install_converters(app: Flask) -> None:
    """Replace Flask's unbounded `int`, `string` and default converters; before any route."""
    app.url_map.converters.update(
        int=BoundedIntConverter, string=BoundedStringConverter, default=BoundedStringConverter
    )
