"""Sentences kept in the database, said again in the reader's language when they are read.

A hold's reason, a refused write-off's detail, a transit alert: each was a `Text` when it was
written, and the database keeps its English (the column is text; the trail, which must not change
format, keeps the same English). The message id is the stable code of such a sentence and the
English is that id with its parameters filled in, so `recall` finds both again: it matches the
stored English against the catalog's message ids (each `%(name)s` standing for any text) and
gives back a `Text` with the same id and the parameters as they were written. Old rows, written
before this module, are recalled the same way. A sentence that matches no message id (an
agency's or a library's words, a message since reworded) is said as it is: English, never lost.

No migration: nothing about how a sentence is stored changes, only how it is read.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from gateway.i18n.catalogs import catalog
from gateway.i18n.locales import DEFAULT
from gateway.i18n.text import Text, localize

# A python-format placeholder with a name: %(name)s, %(count)d, %(speed).1f, %(name)r.
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
_GROUPS = PLACEHOLDER.groups  # re.split also returns each placeholder's name
# A message id that is only placeholders and punctuation would match anything: not recalled.
_MIN_LETTERS = 4
_LETTER = re.compile(r"[^\W\d_]")


class Recalled(Text):
    """A stored sentence recognised as a message: its parameters are the text that was written
    (already formatted), so a translation takes them in verbatim."""

    def __new__(cls, msgid: str, english: str, **params: str) -> Recalled:
        self = str.__new__(cls, english)
        self.msgid = msgid
        self.params = params
        return self

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (self.msgid, str(self), dict(self.params)))

    def fill(self, template: str, params: Mapping[str, Any]) -> str:
        """`template` with the stored parameters (each already said in the reader's language)
        put in as they are, whatever their placeholder's format."""

        def put(match: re.Match[str]) -> str:
            return str(params[match.group(1)])  # KeyError: localize says the English instead

        return PLACEHOLDER.sub(put, template.replace("%%", "\x00")).replace("\x00", "%")


def _rebuild(msgid: str, english: str, params: dict[str, str]) -> Recalled:
    return Recalled(msgid, english, **params)


class _Pattern:
    __slots__ = ("last", "longest", "msgid", "prefix", "regex", "weight")

    def __init__(self, msgid: str) -> None:
        self.msgid = msgid
        pieces, names, last = [], [], 0
        for match in PLACEHOLDER.finditer(msgid):
            pieces.append(re.escape(msgid[last : match.start()].replace("%%", "%")))
            name = match.group(1)
            # The same name twice must hold the same text: a back-reference.
            pieces.append(f"(?P={name})" if name in names else f"(?P<{name}>.+?)")
            names.append(name)
            last = match.end()
        # An id that ends in a placeholder ("Permit %(permit_id)s", "%(id)s is held: %(reason)s")
        # would take any English that starts the same way: its last parameter must then be a
        # sentence of ours itself (a hold inside a verdict), or the id is not the one.
        self.last = names[-1] if names and last == len(msgid) else None
        pieces.append(re.escape(msgid[last:].replace("%%", "%")))
        # Cheap tests before the expression: the text before the first placeholder starts the
        # sentence, and the longest literal piece is somewhere in it.
        literals = [p.replace("%%", "%") for p in PLACEHOLDER.split(msgid)[:: 1 + _GROUPS]]
        self.longest = max(literals, key=len)
        self.regex = re.compile("".join(pieces), re.DOTALL)
        self.prefix = msgid[: PLACEHOLDER.search(msgid).start()] if names else msgid  # type: ignore[union-attr]
        # The most literal text wins where two ids match the same sentence.
        self.weight = len(PLACEHOLDER.sub("", msgid))


@functools.cache
def pattern(msgid: str) -> _Pattern:
    """The regular expression that finds `msgid`'s English, each placeholder a named group."""
    return _Pattern(msgid)


@functools.cache
def _patterns() -> tuple[dict[str, str], tuple[_Pattern, ...]]:
    """(plain message ids, patterns of those with placeholders), most literal first."""
    plain: dict[str, str] = {}
    patterns: list[_Pattern] = []
    for message in catalog(DEFAULT):
        if not isinstance(message.id, str) or not message.id:
            continue
        if not PLACEHOLDER.search(message.id):
            plain[message.id] = message.id
        elif len(_LETTER.findall(PLACEHOLDER.sub("", message.id))) >= _MIN_LETTERS:
            patterns.append(pattern(message.id))
    patterns.sort(key=lambda p: -p.weight)
    return plain, tuple(patterns)


def recall(stored: str) -> str:
    """`stored` as the message it was written from (a `Text`), or as it is when it is none."""
    if isinstance(stored, Text) or not stored:
        return stored
    return _recall(str(stored))


@functools.lru_cache(maxsize=4096)  # a page shows the same last error on many rows
def _recall(stored: str) -> str:
    plain, patterns = _patterns()
    if stored in plain:
        return Text(stored)
    for pattern in patterns:
        if not stored.startswith(pattern.prefix) or pattern.longest not in stored:
            continue
        match = pattern.regex.fullmatch(stored)
        if match is not None:
            params = {k: recall(v) for k, v in match.groupdict().items()}
            if pattern.last is not None and not isinstance(params[pattern.last], Text):
                continue
            return Recalled(pattern.msgid, stored, **params)
    return stored


def say_stored(stored: str | None, gettext: Callable[[str], str]) -> str:
    """A stored sentence in the language of `gettext` ("" for None)."""
    if not stored:
        return ""
    return localize(recall(stored), gettext)
