"""The gateway's door to the one hardened XML parser (`wire.xmlparse`, shared with the adapters):
the same parser and caps, its refusals turned into the gateway's problem documents.

The HTTP layer caps the body before it reaches here (MAX_CONTENT_LENGTH), so an oversized or endless
chunked body is refused without being read whole.
"""

from __future__ import annotations

from lxml import etree

from gateway.errors import ForbiddenXmlConstruct, MalformedXml, TooLarge
from wire import xmlparse as wire
from wire.xmlparse import DEFAULT_MAX_BYTES, MAX_DEPTH, MAX_NODES
from wire.xmlparse import parser as _parser

__all__ = ["DEFAULT_MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "_parser", "parse_xml"]


def parse_xml(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> etree._Element:
    """Parse untrusted bytes into an element, or raise a `GatewayError` saying why not."""
    try:
        return wire.parse_untrusted(
            data, max_bytes=max_bytes, max_depth=max_depth, max_nodes=max_nodes
        )
    except wire.TooLarge as exc:
        raise TooLarge(str(exc), limit=exc.limit) from exc
    except wire.NotWellFormed as exc:
        raise MalformedXml(str(exc), line=exc.line) from exc
    except wire.XmlRefused as exc:
        raise ForbiddenXmlConstruct(str(exc)) from exc
