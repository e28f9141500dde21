"""The `nsw` command's help in NSW_LANG (issue 21, item 2): `nsw --help` and every subcommand's.

Click keeps each command's help (its docstring) and each option's `help=` as English strings on
the command tree, built once at import. Before click reads the command line, `localize_help`
replaces them with their translation in the command's language, keeping the English it found the
first time, so a second run in another language (tests, a long-lived process) starts from it.
The message ids are the English as click cleans it (`inspect.cleandoc`); `gateway.i18n.extract`
finds them in the source (docstrings of commands and groups, `help=` of options).

Click's own headings (`Usage:`, `Options:`, `Commands:`) are said through a formatter of ours
(click says them through the standard library's gettext, which reads no catalog of ours), and
`--help`'s own line is one more parameter. Click's error prefix (`Error:`) stays English.
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
# Click's headings (click.core, click.formatting), messages of ours.
HEADINGS = (N_("Usage:"), N_("Options"), N_("Commands"), N_("Positional arguments"))


class _Formatter(click.HelpFormatter):
    """Click's help formatter with its headings in the command's language."""

    gettext: Callable[[str], str] = staticmethod(lambda text: text)

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        if prefix is None:
            prefix = f"{self.gettext('Usage:')} "
        super().write_usage(prog, args, prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(self.gettext(heading))


class _Context(click.Context):
    formatter_class = _Formatter


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
    _Formatter.gettext = staticmethod(gettext)
    for command in commands(root):
        command.context_class = _Context
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
