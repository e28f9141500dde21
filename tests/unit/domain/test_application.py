"""Reading the application's elements: the child walk `read_application` uses finds exactly what
lxml's ElementPath finds for the same paths."""

from __future__ import annotations

import pytest
from lxml import etree

from gateway.domain.application import NS, _children, _find, _iterfind
from gateway.trust.xmlparse import parse_xml
from tests.conftest import SAMPLES

NSMAP = {"a": NS}
# Every path read_application reads, from the element it reads it on.
PATHS = [
    "a:DeclarantBIN", "a:TraderReference", "a:Procedure", "a:Consignor", "a:Consignee",
    "a:Transport", "a:Name", "a:Country", "a:BIN", "a:Carrier", "a:Mode", "a:Vehicle/a:Plate",
    "a:Vehicle/a:TrailerPlate", "a:Vehicle/a:Axles", "a:Vehicle/a:GrossMassKg",
    "a:EntryCheckpoint", "a:PlannedArrival", "a:GoodsItems/a:Item", "a:HSCode", "a:Description",
    "a:OriginCountry", "a:NetMassKg", "a:GrossMassKg", "a:Quantity", "a:InvoiceValue",
    "a:PermitReference", "a:Documents/a:Document", "a:Documents/a:Document/a:Type", "a:Type",
    "a:Number", "a:Date", "a:Issuer", "a:MediaType", "a:Size", "a:SHA256",
]  # fmt: skip
# Shapes no valid application has, where a shortcut would differ: a comment and a processing
# instruction among the children, an element of another namespace with the same name, a first
# Vehicle without a Plate (ElementPath then finds the second one's), a path three steps deep.
AWKWARD = f"""<Application xmlns="{NS}" xmlns:o="urn:other">
  <!-- a comment --><?pi here?>
  <o:Mode>other namespace</o:Mode>
  <Mode>road</Mode><Mode>second</Mode>
  <Vehicle><Axles>2</Axles></Vehicle>
  <Vehicle><Plate>123ABC02</Plate><!-- c --><Plate>second</Plate></Vehicle>
  <Documents><Document><Type>a</Type></Document><o:Document><Type>x</Type></o:Document>
    <Document><Type>b</Type><Type>c</Type></Document></Documents>
</Application>""".encode()


def _documents() -> list[etree._Element]:
    return [parse_xml(path.read_bytes()) for path in sorted(SAMPLES.glob("*.xml"))] + [
        etree.fromstring(AWKWARD)
    ]


@pytest.mark.parametrize("root", _documents())
def test_the_child_walk_finds_what_elementpath_finds(root: etree._Element) -> None:
    for node in root.iter():
        for path in PATHS:
            assert _find(node, path) is node.find(path, NSMAP), (node.tag, path)
            assert list(_iterfind(node, path)) == list(node.iterfind(path, NSMAP)), (node, path)
            if "/" not in path:  # what read_application looks one-step names up in
                tag = f"{{{NS}}}{path.removeprefix('a:')}"
                assert _children(node).get(tag) is node.find(path, NSMAP), (node.tag, path)


def test_the_awkward_document_exercises_the_cases() -> None:
    root = etree.fromstring(AWKWARD)
    assert [e.text for e in _iterfind(root, "a:Mode")] == ["road", "second"]
    assert getattr(_find(root, "a:Vehicle/a:Plate"), "text", None) == "123ABC02"
    assert [e.text for e in _iterfind(root, "a:Documents/a:Document/a:Type")] == ["a", "b", "c"]
    assert _find(root, "a:Missing/a:Plate") is None
    assert _children(root)[f"{{{NS}}}Mode"].text == "road"  # the first, not the last
