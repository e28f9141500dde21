"""The API docs page: the OpenAPI document rendered as plain HTML on the server.

Lists every operation (grouped by tag) with its security, parameters, request body and
responses, then the security schemes, the schemas and the problem types. Everything from the
document is escaped by Jinja's autoescaping; only `code` spans in descriptions become <code>.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from flask import render_template_string
from markupsafe import Markup, escape

METHODS = ("get", "put", "post", "delete", "patch")
_CODE = re.compile(r"`([^`]+)`")


def prose(text: str | None) -> Markup:
    """Escaped text in which `code` spans are shown as code."""
    parts = _CODE.split(text or "")  # odd places hold what was between backticks
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if odd else escape(part)
        for odd, part in zip(itertools.cycle((False, True)), parts, strict=False)
    )


def schema_label(schema: dict[str, Any] | None) -> Markup:
    """A short, linked description of a schema: `Problem`, `array of Case`, `string | null`."""
    if not schema:
        return Markup("")
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return Markup('<a href="#schema-{0}">{0}</a>').format(name)
    if "const" in schema:
        return Markup("<code>{}</code>").format(repr(schema["const"]))
    if "enum" in schema:
        return Markup(" | ").join(Markup("<code>{}</code>").format(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return Markup("array of ") + schema_label(schema.get("items"))
    if isinstance(kind, list):
        return escape(" | ".join(kind))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return Markup("map of ") + schema_label(schema["additionalProperties"])
    return escape(kind)


def operations(doc: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(tag, operations) in the document's tag order; each operation knows its method and path."""
    by_tag: dict[str, list[dict[str, Any]]] = {t["name"]: [] for t in doc.get("tags", [])}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                op = {**item[method], "method": method.upper(), "path": path}
                for tag in op.get("tags", ["other"]):
                    by_tag.setdefault(tag, []).append(op)
    return [(tag, ops) for tag, ops in by_tag.items() if ops]


def render_docs(doc: dict[str, Any], nonce: str) -> str:
    components = doc.get("components", {})
    return render_template_string(
        PAGE,
        doc=doc,
        nonce=nonce,
        groups=operations(doc),
        schemes=components.get("securitySchemes", {}),
        schemas=components.get("schemas", {}),
        problem_types=components.get("schemas", {}).get("Problem", {}).get("x-problem-types", []),
        prose=prose,
        label=schema_label,
    )


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ doc.info.title }} {{ doc.info.version }}</title>
<style nonce="{{ nonce }}">
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h2{border-bottom:2px solid #ccc;margin-top:2.5rem}
section.op{border:1px solid #ddd;border-radius:4px;margin:1rem 0;padding:.5rem 1rem}
.m{display:inline-block;min-width:4.5em;font-weight:bold}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #ddd;padding:.2rem .5rem;
text-align:left;vertical-align:top}code{background:#f4f4f4;padding:0 .2em}
</style></head><body>
<h1>{{ doc.info.title }} <small>{{ doc.info.version }}</small></h1>
<p>{{ prose(doc.info.description) }}</p>
<p>The document itself: <a href="openapi.json">openapi.json</a> (OpenAPI {{ doc.openapi }}).</p>
<nav><ul>
{% for tag, ops in groups %}<li><a href="#tag-{{ tag }}">{{ tag }}</a></li>{% endfor %}
<li><a href="#security">security schemes</a></li><li><a href="#schemas">schemas</a></li>
<li><a href="#problems">problem types</a></li></ul></nav>
{% for tag, ops in groups %}
<h2 id="tag-{{ tag }}">{{ tag }}</h2>
{% for op in ops %}
<section class="op" id="op-{{ op.operationId }}">
<h3><span class="m">{{ op.method }}</span> <code>{{ op.path }}</code></h3>
<p><strong>{{ op.summary }}</strong> <small>({{ op.operationId }})</small></p>
{% if op.description %}<p>{{ prose(op.description) }}</p>{% endif %}
<p>Security: {% for req in op.get("security", []) %}{% for name in req %}
<a href="#scheme-{{ name }}">{{ name }}</a>{% endfor %}{% else %}none at the HTTP level{% endfor %}</p>
{% if op.parameters %}<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th>
<th>description</th></tr>{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code></td>
<td>{{ p["in"] }}</td><td>{{ "yes" if p.required else "no" }}</td><td>{{ label(p.schema) }}</td>
<td>{{ prose(p.description) }}</td></tr>{% endfor %}</table>{% endif %}
{% if op.requestBody %}<p>Body: {% for ctype, media in op.requestBody.content.items() %}
<code>{{ ctype }}</code> {{ label(media.schema) }}{% if not loop.last %}, {% endif %}
{% endfor %}</p>{% endif %}
<table><tr><th>status</th><th>content</th><th>description</th></tr>
{% for status, r in op.responses.items() %}<tr><td>{{ status }}</td><td>
{% for ctype, media in r.get("content", {}).items() %}<code>{{ ctype }}</code> {{ label(media.schema) }}
{% endfor %}</td><td>{{ prose(r.description) }}</td></tr>{% endfor %}</table>
</section>
{% endfor %}{% endfor %}
<h2 id="security">Security schemes</h2>
<table><tr><th>name</th><th>kind</th><th>description</th></tr>
{% for name, s in schemes.items() %}<tr id="scheme-{{ name }}"><td><code>{{ name }}</code></td>
<td>{{ s.type }}{% if s.scheme %} {{ s.scheme }}{% endif %}{% if s.name %} (header
<code>{{ s.name }}</code>){% endif %}</td><td>{{ prose(s.description) }}</td></tr>{% endfor %}
</table>
<h2 id="schemas">Schemas</h2>
{% for name, s in schemas.items() %}<section id="schema-{{ name }}"><h3>{{ name }}</h3>
{% if s.description %}<p>{{ prose(s.description) }}</p>{% endif %}
{% if s.properties %}<table><tr><th>property</th><th>schema</th><th>required</th>
<th>description</th></tr>{% for prop, ps in s.properties.items() %}<tr><td><code>{{ prop }}</code></td>
<td>{{ label(ps) }}</td><td>{{ "yes" if prop in s.get("required", []) else "" }}</td>
<td>{{ prose(ps.description) }}</td></tr>{% endfor %}</table>
{% else %}<p>{{ label(s) }}</p>{% endif %}</section>{% endfor %}
<h2 id="problems">Problem types</h2>
<p>Every error is an RFC 9457 problem document (<code>application/problem+json</code>,
<a href="#schema-Problem">Problem</a>) with one of these stable <code>type</code> values.</p>
<table><tr><th>type</th><th>status</th><th>title</th></tr>
{% for p in problem_types %}<tr id="problem-{{ p.type.rsplit(':', 1)[-1] }}"><td><code>{{ p.type }}</code></td>
<td>{{ p.status }}</td><td>{{ p.title }}</td></tr>{% endfor %}</table>
</body></html>
"""
