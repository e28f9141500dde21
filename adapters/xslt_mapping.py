"""XSLT mappings: the canonical application -> an XML agency's request body (request.xslt).

The stylesheet is data: changing an agency's format is a change of its stylesheet and contract only.
Stylesheets run with every XSLT extension door shut (no file, network or document() access); the
caller validates the result against the agency's XSD before anything is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.errors import MappingFailed
from wire.xmlparse import parse_untrusted


class XsltMapping:
    """One compiled stylesheet. `render` is safe to call from several dispatcher threads at once."""

    def __init__(self, stylesheet: Path) -> None:
        self.stylesheet = stylesheet
        no_access = etree.XSLTAccessControl(
            read_file=False,
            write_file=False,
            create_dir=False,
            read_network=False,
            write_network=False,
        )
        self._transform: Any = etree.XSLT(
            parse_untrusted(stylesheet.read_bytes()), access_control=no_access
        )
        # An XSLT object keeps its error log between calls: one transformation at a time.
        self._lock = threading.Lock()

    def render(self, application: etree._Element, params: Mapping[str, str]) -> etree._Element:
        """The stylesheet's result element for `application`; raises `MappingFailed` when the
        stylesheet fails or produces no element. `params` are passed as XSLT string parameters
        (quoted, so no value is ever read as an XPath expression)."""
        quoted = {name: etree.XSLT.strparam(value) for name, value in params.items()}
        with self._lock:
            try:
                result = self._transform(application.getroottree(), **quoted)
            except etree.XSLTApplyError as exc:
                raise MappingFailed(f"{self.stylesheet.name} failed: {exc}") from exc
        root = result.getroot()
        if root is None:
            raise MappingFailed(f"{self.stylesheet.name} produced no element")
        return root
