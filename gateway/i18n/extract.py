"""The Babel extractor for the gateway's Python: gettext calls, the `title` of every error class
and the `nsw` command's help texts.

Problem titles are class constants (`code, status, title = "not-found", 404, "Not found"`), read
where they are shown (`gateway.web.problems`); wrapping each in a call would change nothing but
noise, so this extractor finds them: in a class body that assigns `code`, the string assigned to
`title`. Everything else is Babel's own Python extractor with the keywords of babel.cfg.
"""

from __future__ import annotations

import ast
import inspect
import io
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python

TITLE_COMMENT = "problem title (RFC 9457 `title`): a short heading"
HELP_COMMENT = (
    "help of the nsw command (nsw ... --help): keep options, names and `code` as they are"
)


def extract_gateway_python(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: dict[str, Any],
) -> Iterator[tuple[Any, ...]]:
    """(line, function, message, comments) as Babel's extractors yield them at run time (its type
    hints say otherwise)."""
    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)  # type: ignore[arg-type]
    yield from _titles(source)
    if b"import click" in source:
        yield from _cli_help(source)


def _cli_help(source: bytes) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """The `nsw` command's help: each command's or group's docstring and each `help=` of an
    option, cleaned as click cleans them (gateway.cli.help says them in NSW_LANG)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and any(map(_is_command, node.decorator_list)):
            docstring = ast.get_docstring(node, clean=True)
            if docstring:
                yield node.lineno, None, docstring, [HELP_COMMENT]
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "help" and isinstance(value, ast.Constant) and value.value:
                    yield value.lineno, None, inspect.cleandoc(str(value.value)), [HELP_COMMENT]


def _is_command(decorator: ast.expr) -> bool:
    """`@x.command(...)`, `@click.group()`, `@main.command`: the function is a click command."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name in ("command", "group")


def _titles(source: bytes) -> Iterator[tuple[int, str | None, str, list[str]]]:
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        assigned = dict(_class_constants(node.body))
        if "code" in assigned and isinstance(assigned.get("title"), tuple):
            lineno, title = assigned["title"]
            yield lineno, None, title, [TITLE_COMMENT]


def _class_constants(body: list[ast.stmt]) -> Iterator[tuple[str, Any]]:
    for stmt in body:
        if not isinstance(stmt, ast.Assign):
            continue
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                yield target.id, _string(stmt.value)
            elif isinstance(target, ast.Tuple) and isinstance(stmt.value, ast.Tuple):
                for name, value in zip(target.elts, stmt.value.elts, strict=False):
                    if isinstance(name, ast.Name):
                        yield name.id, _string(value)


def _string(value: ast.expr) -> tuple[int, str] | None:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.lineno, value.value
    return None
