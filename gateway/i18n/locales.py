"""Which language a reader gets: pure functions over the request's facts (no Flask here).

The gateway speaks Kazakh (`kk`, Cyrillic), Russian (`ru`) and English (`en`). A reader's language
is, in order: the officer's stored choice, the language cookie (the switch on the web pages), the
`Accept-Language` header (RFC 9110 §12.5.4), then the configured default. Anything else — an
unknown tag, a language we have no catalog for, a garbled header — falls back to the default; the
answer's `Content-Language` (RFC 9110 §8.5) always names the language actually used.
"""

from __future__ import annotations

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

SUPPORTED: tuple[str, ...] = ("kk", "ru", "en")
DEFAULT = "en"
COOKIE = "nsw_lang"
NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}  # each in its own language


def supported(tag: str | None) -> str | None:
    """`tag` as one of SUPPORTED (case and region ignored: `ru-RU` is `ru`), or None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED else None


def from_accept_language(header: str | None) -> str | None:
    """The best of SUPPORTED for an `Accept-Language` header, or None when none is acceptable."""
    if not header:
        return None
    offered = parse_accept_header(header, LanguageAccept)
    for tag, quality in offered:  # highest quality first
        if quality <= 0:
            continue
        if tag == "*":
            return None  # anything goes: the default
        if found := supported(tag):
            return found
    return None


def negotiate(
    *,
    stored: str | None = None,
    cookie: str | None = None,
    accept_language: str | None = None,
    default: str = DEFAULT,
) -> str:
    """The reader's language: stored choice, then cookie, then Accept-Language, then `default`."""
    return (
        supported(stored) or supported(cookie) or from_accept_language(accept_language) or default
    )
