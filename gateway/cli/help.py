"""The `nsw` command's help in NSW_LANG (issue 21, item 2): `nsw --help` and every subcommand's.

Click keeps each command's help (its docstring) and each option's `help=` as English strings on
the command tree, built once at import. Before click reads the command line, `localize_help`
replaces them with their translation in the command's language, keeping the English it found the
first time, so a second run in another language (tests, a long-lived process) starts from it.
The message ids are the English as click cleans it (`inspect.cleandoc`); `gateway.i18n.extract`
finds them in the source (docstrings of commands and groups, `help=` of options).

Click's own headings (`Usage:`, `Options:`, `Commands:`) stay English: click says them itself,
through the standard library's gettext, which reads no catalog of ours. `--help`'s own line is
translated: its option is one more parameter.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Iterator

import click

from gateway.i18n.text import N_

_ENGLISH: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
# The help of click's --help option (click.decorators.help_option), a message of ours.
HELP_OPTION = N_("Show this message and exit.")


def commands(root: click.Command) -> Iterator[click.Command]:
    """`root` and every command and group below it."""
    yield root
    if isinstance(root, click.Group):
        for command in root.commands.values():
            yield from commands(command)


def help_texts(root: click.Command) -> Iterator[str]:
    """Every help text of the tree, in English, as message ids."""
    for command in commands(root):
        for owner, text in _helps(command):
            yield _ENGLISH.get(owner, text)


def localize_help(root: click.Command, gettext: Callable[[str], str]) -> None:
    """Say every help text of the tree under `root` in the language of `gettext`."""
    for command in commands(root):
        for owner, text in _helps(command):
            english = _ENGLISH.setdefault(owner, text)
            owner.help = gettext(english)  # type: ignore[attr-defined]


def _helps(command: click.Command) -> Iterator[tuple[object, str]]:
    if command.help:
        yield command, inspect.cleandoc(command.help)
    # Click makes --help's option once per command and keeps it: its line is said here too.
    help_option = command.get_help_option(click.Context(command))
    params = [*command.params, *([help_option] if help_option is not None else [])]
    for param in params:
        text = getattr(param, "help", None)
        if text:
            yield param, inspect.cleandoc(text)
