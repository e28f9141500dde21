"""The checks that keep every language complete (run by tests/unit/i18n/test_catalogs.py).

`missing_translations` names the messages a catalog lacks (absent, empty or fuzzy);
`placeholder_errors` the translations whose `%(name)s` placeholders do not match the message's;
`visible_text` the words of a template a person would read that are not inside `{{ _() }}` or
`{% trans %}` — text between tags and the `title`, `placeholder`, `aria-label` and `alt` attributes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from babel.messages.catalog import Catalog
from jinja2 import Environment

# Outside any language: code, commands and data (<code>, <pre>, scripts) and a few technical names.
_NOT_PROSE = frozenset({"code", "pre", "script", "style"})
_TECHNICAL = frozenset({"SHA-256", "https://..."})  # a URL's shape, not words
_READ_ATTRIBUTES = frozenset({"title", "placeholder", "aria-label", "alt"})
_LETTER = re.compile(r"[^\W\d_]")
_EXPRESSION = "\x00"  # where a {{ ... }} or a {% trans %} block stood


def missing_translations(template: Catalog, catalog: Catalog) -> list[str]:
    """The messages of `template` that `catalog` does not translate (absent, empty or fuzzy)."""
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        strings = found.string if found is not None else None
        forms = strings if isinstance(strings, tuple) else (strings,)
        if found is None or found.fuzzy or not all(forms):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def placeholder_errors(catalog: Catalog) -> list[str]:
    """Translations whose python-format placeholders do not fit their message."""
    return [f"{message.id!r}: {'; '.join(map(str, errors))}" for message, errors in catalog.check()]


def visible_text(source: str) -> list[str]:
    """The words a reader would see in a Jinja template that no gettext call or trans block wraps."""
    scanner = _Scanner()
    scanner.feed(_without_jinja(source))
    scanner.close()
    return scanner.found


def _without_jinja(source: str) -> str:
    """The template's literal text, each expression and each trans block replaced by a marker."""
    pieces: list[str] = []
    # Only lexed, never rendered: autoescape does not apply.
    lexed = Environment(extensions=["jinja2.ext.i18n"], autoescape=True).lex(source)
    tokens = [(kind, value) for _line, kind, value in lexed if kind != "whitespace"]
    in_trans = False
    for index, (kind, value) in enumerate(tokens):
        after_block_begin = index > 0 and tokens[index - 1][0] == "block_begin"
        if kind == "name" and after_block_begin and value in ("trans", "endtrans"):
            in_trans = value == "trans"
            pieces.append(_EXPRESSION)
        elif kind == "data" and not in_trans:
            pieces.append(value)
        elif kind == "variable_begin":
            pieces.append(_EXPRESSION)
    return "".join(pieces)


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _NOT_PROSE:
            self._skipping.append(tag)
        for name, value in attrs:
            if name in _READ_ATTRIBUTES and value:
                self._check(value, f"<{tag} {name}>")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._check(data, "text")

    def _check(self, text: str, where: str) -> None:
        words = " ".join(text.replace(_EXPRESSION, " ").split())
        if _LETTER.search(words) and words not in _TECHNICAL:
            self.found.append(f"{where}: {words}")
