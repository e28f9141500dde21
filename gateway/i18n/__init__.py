"""Kazakh, Russian and English for everything people read (issue 21, item 2).

`locales` chooses the language, `catalogs` loads the shipped `.po` files, `text` carries sentences
that are translated where they are shown, `web` installs Flask-Babel on the app, `extract` is the
Babel extractor that also finds problem titles. How to add a message: docs/i18n.md.
"""

from gateway.i18n.locales import COOKIE, DEFAULT, NAMES, SUPPORTED, negotiate, supported
from gateway.i18n.text import N_, Text, localize

__all__ = [
    "COOKIE",
    "DEFAULT",
    "NAMES",
    "N_",
    "SUPPORTED",
    "Text",
    "localize",
    "negotiate",
    "supported",
]
