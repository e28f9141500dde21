"""Validating an element against one of our own contract schemas (an agency's XSD, the gateway's
callback XSD), loaded once with the hardened parser's settings (`wire.xmlparse.parser`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lxml import etree

from wire.xmlparse import parser


class XsdValidator:
    """One XSD, read from our own contract files once; `errors` is safe to call from several
    threads at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._schema = etree.XMLSchema(etree.parse(str(path), parser=parser()))
        # XMLSchema keeps its error log on the object: one validation at a time.
        self._lock = threading.Lock()

    def errors(self, element: etree._Element) -> list[str]:
        """Why `element` (validated as a document root) breaks the schema, each as "line N: why";
        empty when it is valid."""
        with self._lock:
            if self._schema.validate(element):
                return []
            log: Any = self._schema.error_log  # lxml-stubs: _ErrorLog is iterable at runtime
            return [f"line {e.line}: {e.message}" for e in log]
