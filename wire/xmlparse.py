"""The one hardened XML parser for every XML byte that comes from outside: applications, arrival
notices, SOAP callbacks (through `gateway.trust.xmlparse`) and agency answers (through `adapters`).

No DTD is loaded or allowed, no entity is expanded, nothing is fetched from the network, and the size
is capped before parsing. A document that declares a DOCTYPE at all is refused: the single-window
formats and the agency contracts have no use for one, and refusing it closes XXE, billion-laughs and
external-DTD attacks at once (the parser settings below are the second line of defence). Depth and
node count are capped too, so a document within the byte limit cannot make every later step (schema,
C14N, signature, mapping) walk millions of nodes. One parser means one set of caps: an agency's
answer is read with the same limits as a trader's application.

Refusals are `XmlRefused` (a `ValueError`), with a sentence a person can act on; the gateway turns
each kind into its problem document (`gateway.trust.xmlparse`), the adapters into a failed call.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

from lxml import etree

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 50_000  # elements, comments and processing instructions; an application has hundreds


class XmlRefused(ValueError):
    """The bytes are not XML the gateway reads: too large, not well-formed, or a refused construct."""


class TooLarge(XmlRefused):
    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class NotWellFormed(XmlRefused):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class ForbiddenConstruct(XmlRefused):
    """A DOCTYPE, an entity reference, or a depth or node count over the caps."""


def parser() -> etree.XMLParser:
    """The parser settings (also for our own contract files: XSD, WSDL, XSLT)."""
    # A fresh parser per call: lxml parsers keep state and are not safe to share across threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
    )


def parse_untrusted(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> etree._Element:
    """Parse bytes from outside into an element, or raise an `XmlRefused` saying why not."""
    if len(data) > max_bytes:
        raise TooLarge(
            f"The document is {len(data)} bytes; the limit is {max_bytes} bytes.", limit=max_bytes
        )
    try:
        tree = etree.fromstring(data, parser=parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        raise NotWellFormed(
            f"The document is not well-formed XML (line {exc.lineno}): {exc.msg}", line=exc.lineno
        ) from exc
    docinfo: Any = tree.docinfo  # lxml-stubs lack DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ForbiddenConstruct(
            "The document declares a DOCTYPE; DTDs and entity declarations are not accepted. "
            "Remove the <!DOCTYPE ...> declaration and send plain XML."
        )
    root = tree.getroot()
    _check_shape(root, max_depth, max_nodes)
    return root


def _check_shape(root: etree._Element, max_depth: int, max_nodes: int) -> None:
    """No entity references, at most `max_depth` deep, at most `max_nodes` nodes: each asked of
    lxml, which walks the tree in C (a walk in Python cost twice the parse itself)."""
    if next(root.iter(etree.Entity), None) is not None:
        raise ForbiddenConstruct(
            "The document uses an entity reference; entities are not accepted."
        )
    if _deeper_than(max_depth)(root):
        raise ForbiddenConstruct(
            f"The document nests elements more than {max_depth} deep; the limit is {max_depth}."
        )
    if sum(1 for _ in itertools.islice(root.iter(), max_nodes + 1)) > max_nodes:
        raise ForbiddenConstruct(
            f"The document has more than {max_nodes} nodes (elements, comments, processing "
            "instructions). Split it into several applications."
        )


@functools.lru_cache(maxsize=8)
def _deeper_than(max_depth: int) -> etree.XPath:
    """Whether a node other than text lies deeper than `max_depth` (the root is at depth 1): one
    location path of `max_depth` steps. (lxml serialises calls of one XPath object itself.)"""
    return etree.XPath("boolean(" + "*/" * (max_depth - 1) + "node()[not(self::text())])")
