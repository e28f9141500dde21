"""The one hardened XML parser for every XML byte that comes from outside.

No DTD is loaded or allowed, no entity is expanded, nothing is fetched from the network, and the size
is capped before parsing. A document that declares a DOCTYPE at all is refused: the single-window
formats have no use for one, and refusing it closes XXE, billion-laughs and external-DTD attacks at
once (the parser settings below are the second line of defence). Depth and node count are capped
too, so a document within the byte limit cannot make every later step (schema, C14N, signature)
walk millions of nodes. The HTTP layer caps the body before it reaches here (MAX_CONTENT_LENGTH),
so an oversized or endless chunked body is refused without being read whole.
"""

from __future__ import annotations

from lxml import etree

from gateway.errors import ForbiddenXmlConstruct, MalformedXml, TooLarge

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 50_000  # elements, comments and processing instructions; an application has hundreds


def _parser() -> etree.XMLParser:
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


def parse_xml(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> etree._Element:
    """Parse untrusted bytes into an element, or raise a `GatewayError` saying why not."""
    if len(data) > max_bytes:
        raise TooLarge(
            f"The document is {len(data)} bytes; the limit is {max_bytes} bytes.",
            limit=max_bytes,
        )
    try:
        tree = etree.fromstring(data, parser=_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        raise MalformedXml(
            f"The document is not well-formed XML (line {exc.lineno}): {exc.msg}",
            line=exc.lineno,
        ) from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ForbiddenXmlConstruct(
            "The document declares a DOCTYPE; DTDs and entity declarations are not accepted. "
            "Remove the <!DOCTYPE ...> declaration and send plain XML."
        )
    root = tree.getroot()
    _check_shape(root, max_depth, max_nodes)
    return root


def _check_shape(root: etree._Element, max_depth: int, max_nodes: int) -> None:
    """One walk: no entity references, at most `max_nodes` nodes, at most `max_depth` deep."""
    stack = [(root, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if isinstance(node, etree._Entity):
            raise ForbiddenXmlConstruct(
                "The document uses an entity reference; entities are not accepted."
            )
        if depth > max_depth:
            raise ForbiddenXmlConstruct(
                f"The document nests elements more than {max_depth} deep; the limit is {max_depth}."
            )
        if count > max_nodes:
            raise ForbiddenXmlConstruct(
                f"The document has more than {max_nodes} nodes (elements, comments, processing "
                "instructions). Split it into several applications."
            )
        stack.extend((child, depth + 1) for child in node)
