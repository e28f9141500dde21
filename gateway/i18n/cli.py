"""The language of the `nsw` command: NSW_LANG (kk, ru or en) [en].

Only NSW_LANG is read, not LANG or LC_*: scripts that read the command's English keep working on
a machine set up in Russian or Kazakh until someone asks for a language on purpose. The same
language goes to the gateway as Accept-Language, so problems it answers come back in it too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from gateway.i18n.catalogs import translations
from gateway.i18n.locales import DEFAULT, supported
from gateway.i18n.stored import say_stored
from gateway.i18n.text import localize

ENV = "NSW_LANG"


def cli_locale(env: Mapping[str, str] | None = None) -> str:
    """NSW_LANG as one of kk, ru, en; the default for anything else."""
    env = os.environ if env is None else env
    return supported(env.get(ENV)) or DEFAULT


def cli_gettext(env: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """gettext in the command's language."""
    return translations(cli_locale(env)).gettext


def say(sentence: str, env: Mapping[str, str] | None = None) -> str:
    """`sentence` (a `Text` or plain string) in the command's language."""
    return localize(sentence, cli_gettext(env))


def say_read(stored: str | None, env: Mapping[str, str] | None = None) -> str:
    """A sentence read back from the database (a hold's reason, a payment's detail) in the
    command's language (gateway.i18n.stored)."""
    return say_stored(stored, cli_gettext(env))
