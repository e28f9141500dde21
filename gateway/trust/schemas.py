"""XML Schema validation with the problem a reader can act on: the one place documents from
outside (applications, amendments, withdrawals) are held against their XSD.

Shared by intake and the lifecycle service, so neither imports the other for it."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from gateway.errors import SchemaViolation
from gateway.i18n import Text
from gateway.i18n.library import library_words


def load_schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def validate(schema: etree.XMLSchema, element: etree._Element) -> None:
    """Return if `element` is valid; otherwise `SchemaViolation` naming the line and path."""
    if schema.validate(element):
        return
    error = schema.error_log.last_error
    raise SchemaViolation(
        Text("Line %(line)s: %(message)s", line=error.line, message=library_words(error.message)),
        line=error.line,
        path=error.path,
    )
