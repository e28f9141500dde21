"""The gateway's OpenAPI document as the tests read it, and the checks they share."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from flask import Flask
from jsonschema import Draft202012Validator

from gateway.config import load_config
from gateway.web.openapi import document_path

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
# Not an API: the OMC and the traders' portal are browser applications (HTML pages, forms and
# event streams), and Flask's static files are not ours to describe.
NOT_DESCRIBED = ("/omc/", "/omc", "/portal/", "/portal", "/static/")


@cache
def document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(document_path(load_config({}).wsdl_dir).read_text())
    return doc


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: `<int:notification_id>` -> `{notification_id}`."""
    return _CONVERTER.sub(r"{\1}", rule)


def served_operations(app: Flask) -> set[tuple[str, str]]:
    """(path, method) of every route of `app` that the document must describe."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith(NOT_DESCRIBED):
            continue
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                found.add((openapi_path(rule.rule), method.lower()))
    return found


def documented_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, m) for path, item in doc["paths"].items() for m in item if m in METHODS}


def response_schema(path: str, method: str, status: int, mimetype: str | None) -> dict[str, Any]:
    """The documented schema of that answer, resolvable against the document's components;
    KeyError when the document does not describe such an answer (or it has no media type)."""
    doc = document()
    media = doc["paths"][path][method]["responses"][str(status)]["content"][mimetype]
    return {"components": doc["components"], **media["schema"]}


def validate(instance: Any, schema: dict[str, Any]) -> None:
    Draft202012Validator(schema).validate(instance)
