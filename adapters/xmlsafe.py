"""The one hardened XML parser for XML the adapters read: agency answers and mapping files.

No DTD is loaded, no entity is expanded, nothing is fetched from the network, the size is capped,
and a document that declares a DOCTYPE at all is refused (the agency contracts have no use for one,
and refusing it closes XXE and entity-expansion attacks at once; the parser settings back it up).
This mirrors gateway/xmlparse.py on purpose: adapters do not import the gateway core.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lxml import etree

DEFAULT_MAX_BYTES = 5 * 1024 * 1024


class UnsafeXml(ValueError):
    """The bytes are not well-formed, too large, or use a construct the adapters refuse."""


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers keep state and are not safe to share across threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )


def parse_untrusted(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse bytes from outside into an element, or raise `UnsafeXml` saying why not."""
    if len(data) > max_bytes:
        raise UnsafeXml(f"the document is {len(data)} bytes; the limit is {max_bytes}")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXml(f"not well-formed XML (line {exc.lineno}): {exc.msg}") from exc
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeXml("the document declares a DOCTYPE; DTDs and entities are refused")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise UnsafeXml("the document uses an entity reference; entities are refused")
    return root


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
