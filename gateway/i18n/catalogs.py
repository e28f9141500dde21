"""The message catalogs: `.po` files shipped in the package, compiled in memory on first use.

Only the `.po` files are kept (in git and in the wheel: package-data `gateway.i18n`): one source,
nothing compiled to drift from it, and nothing written into site-packages (the package only reads
what it ships). Compiling three catalogs of a few hundred messages takes milliseconds, once per
process. `tests/unit/i18n/test_catalogs.py` fails when a catalog lacks a message.
"""

from __future__ import annotations

import functools
import io
from importlib import resources

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from gateway.i18n.locales import SUPPORTED

DOMAIN = "messages"


def po_text(locale: str) -> bytes:
    """The shipped `.po` file of `locale`."""
    path = resources.files("gateway.i18n") / "translations" / locale / "LC_MESSAGES" / "messages.po"
    return path.read_bytes()


def catalog(locale: str) -> Catalog:
    """The parsed `.po` catalog of `locale` (one of SUPPORTED)."""
    if locale not in SUPPORTED:
        raise ValueError(f"no catalog for {locale!r}; the gateway speaks {', '.join(SUPPORTED)}")
    return read_po(io.BytesIO(po_text(locale)), locale=locale)


@functools.cache
def translations(locale: str) -> NullTranslations:
    """gettext translations for `locale`, compiled in memory once per process."""
    compiled = io.BytesIO()
    write_mo(compiled, catalog(locale), use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
