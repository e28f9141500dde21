"""A small JSON Schema checker for the subset the agency OpenAPI documents use.

Keywords: $ref (local), type, required, properties, additionalProperties (false), items, minItems,
enum, pattern, minLength, maxLength, minimum, exclusiveMinimum, format (date, date-time, uri).
Anything else in a schema is ignored. `problems()` returns sentences naming the JSON path.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlparse

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _format_ok(fmt: str, value: str) -> bool:
    try:
        if fmt == "date":
            return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)) and bool(
                dt.date.fromisoformat(value)
            )
        if fmt == "date-time":
            return "T" in value and dt.datetime.fromisoformat(value).tzinfo is not None
        if fmt == "uri":
            return bool(urlparse(value).scheme)
    except ValueError:
        return False
    return True


class SchemaChecker:
    """Checks values against schemas inside one OpenAPI document (for its `$ref`s)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def problems(self, value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
        schema = self.resolve(schema)
        kind = schema.get("type")
        # bool is an int in Python, but never a JSON number.
        if kind is not None and (
            (isinstance(value, bool) and kind != "boolean") or not isinstance(value, _TYPES[kind])
        ):
            return [f"{path} must be of type {kind}"]
        found: list[str] = []
        if "enum" in schema and value not in schema["enum"]:
            found.append(f"{path} must be one of {', '.join(map(str, schema['enum']))}")
        if isinstance(value, str):
            found += self._string(value, schema, path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                found.append(f"{path} must be at least {schema['minimum']}")
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                found.append(f"{path} must be greater than {schema['exclusiveMinimum']}")
        if isinstance(value, dict):
            found += self._object(value, schema, path)
        if isinstance(value, list):
            if len(value) < schema.get("minItems", 0):
                found.append(f"{path} needs at least {schema['minItems']} item(s)")
            for i, item in enumerate(value):
                found += self.problems(item, schema.get("items", {}), f"{path}[{i}]")
        return found

    def _string(self, value: str, schema: dict[str, Any], path: str) -> list[str]:
        found = []
        if len(value) < schema.get("minLength", 0):
            found.append(f"{path} is too short")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{path} is too long")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{path} does not match {schema['pattern']}")
        if "format" in schema and not _format_ok(schema["format"], value):
            found.append(f"{path} is not a valid {schema['format']}")
        return found

    def _object(self, value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
        found = [f"{path}.{k} is required" for k in schema.get("required", []) if k not in value]
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                found += self.problems(item, properties[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{path}.{key} is not allowed")
        return found
