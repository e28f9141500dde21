"""Declarative JSON mappings: the canonical application -> a JSON agency's request body.

A mapping file (mappings/agencies/<code>/request.json) names the contract operation and describes
the body field by field; a field is one of

- `"XPath"`: the string value of the first match (required: an empty value is an error);
- `{"xpath": ..., "type": "string" | "integer" | "number", "optional": bool}`;
- `{"param": "case_id" | "application_id" | "callback_url", "optional": bool}`;
- `{"fields": {...}}`: a nested object;
- `{"each": XPath, "fields": {...}}`: a list, one object per match (its XPaths relative to it).

Optional fields with no value are left out, so the body never carries empty strings the agency would
have to second-guess. The file is read and every XPath compiled once, when the adapter is built.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.errors import MappingFailed
from wire.xmlparse import parse_untrusted

JsonValue = Any  # what json.dumps accepts
_TYPES = ("string", "integer", "number")


@dataclass(frozen=True)
class _Field:
    name: str
    xpath: str | None = None
    kind: str = "string"
    optional: bool = False
    param: str | None = None
    each: str | None = None
    fields: tuple[_Field, ...] | None = None
    # Compiled once (lxml serialises calls of one XPath object with a lock of its own): `xpath`
    # as the string value of its first match, `each` as the nodes it selects.
    select: Any = field(default=None, compare=False)


class JsonMapping:
    """A compiled request.json. `render` is pure and safe to share across threads."""

    def __init__(self, path: Path, *, combine: bool = True) -> None:
        """`combine=False`: every field's XPath evaluated on its own (what the combined
        evaluation is held equal to in the tests)."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        self.path = path
        self.operation: str = raw["operation"]
        self._namespaces: dict[str, str] = dict(raw.get("namespaces", {}))
        self._body = tuple(self._field(name, spec) for name, spec in raw["body"].items())
        # The string fields read from the application itself (not inside an `each`), in order,
        # and one XPath giving all their values at once (each call of an XPath object sets up
        # and tears down its own evaluation context: a dozen fields cost a dozen of those).
        self._plain = tuple(_plain_fields(self._body))
        self._combined = self._combine() if combine and len(self._plain) > 1 else None

    def render(self, application: etree._Element, params: Mapping[str, str | None]) -> JsonValue:
        """The request body (a JSON-ready dict) for `application`; raises `MappingFailed`."""
        return self._object(self._body, application, params, self._texts(application))

    def _combine(self) -> etree.XPath | None:
        """`concat(string(x1), SEP, string(x2), ...)` over the plain fields' XPaths: each
        argument is the string value the field's own `string(x)` gives (XPath 1.0 §4.2:
        concat converts its arguments as `string()` does)."""
        joined = f", '{_SEP}', ".join(f"string({f.xpath})" for f in self._plain)
        try:
            return etree.XPath(f"concat({joined})", namespaces=self._namespaces)
        except etree.XPathError:
            return None

    def _texts(self, application: etree._Element) -> dict[int, str] | None:
        """The plain fields' string values by `id` of the field, from the one combined XPath;
        None (each field evaluates its own) when it errs or when a value holds the separator."""
        if self._combined is None:
            return None
        try:
            joined = self._combined(application)
        except etree.XPathError:  # each field's own XPath raises it, field by field
            return None
        parts = str(joined).split(_SEP)
        if len(parts) != len(self._plain):
            return None
        return {id(f): text for f, text in zip(self._plain, parts, strict=True)}

    def _field(self, name: str, spec: object) -> _Field:
        if isinstance(spec, str):
            spec = {"xpath": spec}
        if not isinstance(spec, dict):
            raise ValueError(f"{self.path}: field {name!r} must be a string or an object")
        children = spec.get("fields")
        kind = spec.get("type", "string")
        if kind not in _TYPES:
            raise ValueError(f"{self.path}: field {name!r} has unknown type {kind!r}")
        xpath, each = spec.get("xpath"), spec.get("each")
        select = None
        if each is not None:
            select = self._compile(name, each)
        elif xpath is not None:
            select = self._compile(name, f"string({xpath})")
        return _Field(
            name=name,
            xpath=spec.get("xpath"),
            kind=kind,
            optional=bool(spec.get("optional", False)),
            param=spec.get("param"),
            each=spec.get("each"),
            fields=None
            if children is None
            else tuple(self._field(k, v) for k, v in children.items()),
            select=select,
        )

    def _compile(self, name: str, expr: str) -> etree.XPath:
        try:
            return etree.XPath(expr, namespaces=self._namespaces)
        except etree.XPathSyntaxError as exc:
            raise ValueError(f"{self.path}: field {name!r}: bad XPath {expr!r}: {exc}") from exc

    def _object(
        self,
        fields: tuple[_Field, ...],
        node: etree._Element,
        params: Mapping[str, str | None],
        texts: dict[int, str] | None = None,
    ) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {}
        for f in fields:
            value = self._value(f, node, params, texts)
            if value is None:
                if not f.optional:
                    raise MappingFailed(f"{self.path.name}: no value for required field {f.name!r}")
                continue
            out[f.name] = value
        return out

    def _value(
        self,
        f: _Field,
        node: etree._Element,
        params: Mapping[str, str | None],
        texts: dict[int, str] | None,
    ) -> JsonValue:
        if f.param is not None:
            return params.get(f.param) or None
        if f.each is not None:
            matches = f.select(node)
            if not isinstance(matches, list):
                raise MappingFailed(f"field {f.name!r}: {f.each!r} does not select elements")
            elements = [m for m in matches if isinstance(m, etree._Element)]
            return [self._object(f.fields or (), m, params) for m in elements]
        if f.fields is not None:
            return self._object(f.fields, node, params, texts)
        assert f.xpath is not None
        text = texts.get(id(f)) if texts is not None else None
        if text is None:
            text = str(f.select(node))
        text = text.strip()
        return _typed(text, f) if text else None


# Between the values of the combined XPath: a private-use character (lxml takes no character
# that XML 1.0 excludes into an XPath). A document may hold it: then there are more parts than
# fields and each field is evaluated on its own.
_SEP = "\ue000"


def _plain_fields(fields: tuple[_Field, ...]) -> list[_Field]:
    """The fields `_value` reads by their own XPath, in document order of the mapping, through
    nested objects but not into an `each` (its XPaths are relative to each match)."""
    found = []
    for f in fields:
        if f.param is not None or f.each is not None:
            continue
        if f.fields is not None:
            found += _plain_fields(f.fields)
        elif f.xpath is not None:
            found.append(f)
    return found


def _typed(text: str, f: _Field) -> JsonValue:
    if f.kind == "string":
        return text
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise MappingFailed(f"field {f.name!r}: {text!r} is not a number") from exc
    if not number.is_finite():  # NaN, Infinity: no JSON number (json.dumps would write NaN)
        raise MappingFailed(f"field {f.name!r}: {text!r} is not a number")
    if f.kind == "integer":
        if number != number.to_integral_value():
            raise MappingFailed(f"field {f.name!r}: {text!r} is not an integer")
        return int(number)
    # JSON numbers: integral values stay integers, so 41800 is sent as 41800, not 41800.0.
    return int(number) if number == number.to_integral_value() else float(number)


class ParsedApplications:
    """The last `size` applications parsed (`parse_untrusted`), shared by the JSON agencies'
    adapters: an application goes to up to four of them, each of which parsed it again (a third
    of a REST call's CPU outside cryptography).

    An entry is found only for the very same bytes, so what a mapping reads is what a parse of
    its own would give; bytes the parser refuses are refused on every call (never kept), and
    so are documents over `max_bytes` (parsed each time: what is kept stays small, whatever
    anyone sends). One lock per entry: a tree is read by one thread at a time (the dispatcher
    sends an application's cases from several threads at once), and no element leaves
    `render`."""

    def __init__(self, size: int = 4, max_bytes: int = 256 * 1024) -> None:
        self._size, self._max_bytes = size, max_bytes
        self._lock = threading.Lock()
        self._trees: OrderedDict[bytes, _Parsed] = OrderedDict()

    def render(
        self, mapping: JsonMapping, data: bytes, params: Mapping[str, str | None]
    ) -> JsonValue:
        """`mapping.render(parse_untrusted(data), params)`; raises what either raises."""
        if len(data) > self._max_bytes:
            return mapping.render(parse_untrusted(data), params)
        parsed = self._tree(data)
        with parsed.lock:
            return mapping.render(parsed.root, params)

    def _tree(self, data: bytes) -> _Parsed:
        with self._lock:  # held while parsing: threads sending one application parse it once
            found = self._trees.get(data)
            if found is not None:
                self._trees.move_to_end(data)
                return found
            found = self._trees[data] = _Parsed(parse_untrusted(data))
            if len(self._trees) > self._size:
                self._trees.popitem(last=False)
            return found


@dataclass
class _Parsed:
    """One application's tree and the lock held while it is read."""

    root: etree._Element
    lock: threading.Lock = field(default_factory=threading.Lock)
