"""How the adapters read XML: agency answers and requests through the one hardened parser
(`wire.xmlparse`, the gateway's own, with the same size, depth and node caps), and our own
contract files (XSD, XSLT) with the same parser settings.

`UnsafeXml` and `parse_untrusted` are the wire parser's, under the names the adapters use.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lxml import etree

from wire.xmlparse import DEFAULT_MAX_BYTES, parse_untrusted
from wire.xmlparse import XmlRefused as UnsafeXml
from wire.xmlparse import parser as _parser

__all__ = ["DEFAULT_MAX_BYTES", "UnsafeXml", "XsdValidator", "_parser", "parse_untrusted"]


class XsdValidator:
    """An agency XSD, loaded once from our own contract files; `errors` is thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._schema = etree.XMLSchema(etree.parse(str(path), parser=_parser()))
        # XMLSchema keeps its error log on the object: one validation at a time.
        self._lock = threading.Lock()

    def errors(self, element: etree._Element) -> list[str]:
        """Why `element` (validated as a document root) breaks the schema; empty when valid."""
        with self._lock:
            if self._schema.validate(element):
                return []
            log: Any = self._schema.error_log  # lxml-stubs: _ErrorLog is iterable at runtime
            return [f"line {e.line}: {e.message}" for e in log]
