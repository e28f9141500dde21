"""Sentences that can be said again in the reader's language.

A `Text` is an ordinary `str` — the English sentence, so logs, SOAP Faults, the CLI and every test
that reads it as before keep working — that also remembers its message id (the English template,
`%(name)s` placeholders) and its parameters. Where the reader is known (a problem document, a page),
`localize` looks the id up in the reader's catalog and fills the same parameters in. Plain strings
pass through unchanged, so a sentence not yet marked stays English rather than failing.

Extraction: `Text("...")` and `N_("...")` are gettext keywords (gateway/i18n/babel.cfg).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class Text(str):
    """An English sentence with its message id and parameters."""

    msgid: str
    params: Mapping[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Text:
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid = msgid
        self.params = params
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (multiprocessing) as itself
        return (_rebuild, (self.msgid, dict(self.params)))

    def fill(self, template: str, params: Mapping[str, Any]) -> str:
        """`template` (a translation of the message id) with `params` put in."""
        return template % params


def _rebuild(msgid: str, params: dict[str, Any]) -> Text:
    return Text(msgid, **params)


def N_(msgid: str) -> str:
    """Mark a constant for extraction; it is translated where it is shown."""
    return msgid


def localize(value: str, gettext: Callable[[str], str]) -> str:
    """`value` in the language of `gettext`: a `Text` translated with its parameters filled in,
    any other string as it is."""
    if not isinstance(value, Text):
        return value
    translated = gettext(value.msgid)
    if not value.params:
        return translated
    params = {k: localize(v, gettext) if isinstance(v, str) else v for k, v in value.params.items()}
    try:
        return value.fill(translated, params)
    except (KeyError, ValueError, TypeError):
        return str(value)  # a broken translation must not hide the sentence: English instead
