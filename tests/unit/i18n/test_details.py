"""Every problem detail of the gateway is said in the reader's language: a GatewayError raised
anywhere in `gateway/` with a plain or f-string detail (English for every reader) fails here.

`ConfigurationError` too: the operator starting the gateway reads it in NSW_LANG. Exempt: details
that carry only data (`f"{path}: {exc}"`, no words of their own to translate)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections.abc import Mapping
from typing import Any

import pytest

import gateway
from gateway.errors import ConfigurationError, GatewayError

_WORD = re.compile(r"[^\W\d_]{2,}")


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(gateway.__path__, "gateway."))


def _raised(func: ast.expr, namespace: Mapping[str, Any]) -> object:
    """What a call's function names in the module: `NotFound` or `errors.NotFound`."""
    if isinstance(func, ast.Name):
        return namespace.get(func.id)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        owner = namespace.get(func.value.id)
        return vars(owner).get(func.attr) if inspect.ismodule(owner) else None
    return None


def _words(detail: ast.expr) -> bool:
    """Whether the literal parts of a detail hold words someone would read."""
    if isinstance(detail, ast.Constant):
        return isinstance(detail.value, str) and bool(_WORD.search(detail.value))
    if isinstance(detail, ast.JoinedStr):
        return any(_words(part) for part in detail.values if isinstance(part, ast.Constant))
    if isinstance(detail, ast.BinOp):
        return _words(detail.left) or _words(detail.right)
    return False


def english_only(source: str, namespace: Mapping[str, Any]) -> list[str]:
    """`line: source` of each GatewayError raised with a string literal or f-string detail."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        raised = _raised(node.func, namespace)
        if not (isinstance(raised, type) and issubclass(raised, GatewayError)):
            continue
        if _words(node.args[0]):
            found.append(f"{node.lineno}: {ast.unparse(node)[:80]}")
    return found


@pytest.mark.parametrize("module_name", _modules())
def test_details_are_texts(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert english_only(inspect.getsource(module), vars(module)) == []


def test_the_check_finds_an_english_only_detail() -> None:
    from gateway import errors
    from gateway.errors import NotFound
    from gateway.i18n import Text

    source = (
        "raise NotFound(f'There is no permit {permit_id}.')\n"
        "raise errors.NotFound('No such tile.')\n"
        "raise NotFound('Line ' + str(n))\n"
        "raise NotFound(Text('There is no permit %(id)s.', id=permit_id))\n"
        "raise NotFound(f'{path}: {exc}')\n"
        "raise ConfigurationError(f'{path} cannot be read')\n"
    )
    namespace = {"NotFound": NotFound, "errors": errors, "Text": Text,
                 "ConfigurationError": ConfigurationError}  # fmt: skip
    assert [line.split(":")[0] for line in english_only(source, namespace)] == ["1", "2", "3", "6"]
