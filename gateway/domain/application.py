"""The canonical single-window application as typed domain values.

`read_application` takes the element the signature covers (never the raw tree) and builds an
`Application` whose constructors enforce the invariants the schema cannot: BIN check digits, HS codes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from gateway.domain.identifiers import Bin, HsCode

NS = "urn:kz:nsw:application:1"


@dataclass(frozen=True)
class Party:
    name: str
    country: str
    bin: Bin | None = None


@dataclass(frozen=True)
class PermitCitation:
    """`<PermitReference agency="...">ID</PermitReference>` of a goods item."""

    agency: str
    permit_id: str


@dataclass(frozen=True)
class GoodsItem:
    line: int
    hs_code: HsCode
    description: str
    origin: str
    net_mass_kg: Decimal
    gross_mass_kg: Decimal
    quantity: Decimal
    unit: str
    invoice_value: Decimal
    currency: str
    permit: PermitCitation | None = None  # a permit already granted, cited instead of a new one


@dataclass(frozen=True)
class Transport:
    mode: str
    plate: str
    trailer_plate: str | None
    axles: int
    gross_mass_kg: Decimal
    carrier: Party
    entry_checkpoint: str
    planned_arrival: dt.datetime


@dataclass(frozen=True)
class SupportingDocument:
    """One `Documents/Document` entry as signed. `media_type`, `size` and `sha256` are all set (an
    attachment whose bytes are uploaded separately) or all None (a document named, not attached);
    the schema allows nothing else. Which of them are acceptable is gateway.lifecycle's rule."""

    type: str
    number: str
    issued_on: dt.date
    issuer: str | None = None
    media_type: str | None = None
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Application:
    declarant: Bin
    trader_reference: str
    procedure: str  # import | export | transit
    consignor: Party
    consignee: Party
    transport: Transport
    items: tuple[GoodsItem, ...]
    document_types: tuple[str, ...]
    documents: tuple[SupportingDocument, ...] = ()


@functools.cache
def _tags(path: str) -> tuple[str, ...]:
    """The steps of a child path ("a:Vehicle/a:Plate") as Clark names."""
    return tuple(f"{{{NS}}}{step.removeprefix('a:')}" for step in path.split("/"))


def _iterfind(node: etree._Element, path: str) -> Iterator[etree._Element]:
    """`node.iterfind(path, {"a": NS})` for a path of child steps: the same elements in the same
    order, found by lxml's child iterator (in C) instead of ElementPath (in Python, ~1 µs more a
    step; reading an application takes about fifty steps: 160 -> 110 µs of CPU)."""
    tags = _tags(path)
    if len(tags) == 1:
        children: Iterator[etree._Element] = node.iterchildren(tags[0])
        return children
    return _descend(node, tags)


def _descend(node: etree._Element, tags: tuple[str, ...]) -> Iterator[etree._Element]:
    for child in node.iterchildren(tags[0]):
        if len(tags) == 1:
            yield child
        else:
            yield from _descend(child, tags[1:])


def _find(node: etree._Element, path: str) -> etree._Element | None:
    """`node.find(path, {"a": NS})`: the first of `_iterfind`."""
    return next(_iterfind(node, path), None)


def _text(node: etree._Element, path: str) -> str:
    found = _find(node, path)
    if found is None or found.text is None:
        raise ValueError(f"missing {path}")  # the schema already guarantees presence
    return str(found.text).strip()


def _opt(node: etree._Element, path: str) -> str | None:
    found = _find(node, path)
    return None if found is None or found.text is None else found.text.strip()


def _party(node: etree._Element) -> Party:
    bin_text = _opt(node, "a:BIN")
    return Party(
        name=_text(node, "a:Name"),
        country=_text(node, "a:Country"),
        bin=Bin(bin_text) if bin_text else None,
    )


def _item(node: etree._Element) -> GoodsItem:
    quantity = _find(node, "a:Quantity")
    value = _find(node, "a:InvoiceValue")
    assert quantity is not None and value is not None
    return GoodsItem(
        line=int(node.get("line", "0")),
        hs_code=HsCode(_text(node, "a:HSCode")),
        description=_text(node, "a:Description"),
        origin=_text(node, "a:OriginCountry"),
        net_mass_kg=Decimal(_text(node, "a:NetMassKg")),
        gross_mass_kg=Decimal(_text(node, "a:GrossMassKg")),
        quantity=Decimal((quantity.text or "").strip()),
        unit=quantity.get("unit", ""),
        invoice_value=Decimal((value.text or "").strip()),
        currency=value.get("currency", ""),
        permit=_citation(_find(node, "a:PermitReference")),
    )


def _citation(node: etree._Element | None) -> PermitCitation | None:
    if node is None:
        return None
    return PermitCitation(agency=node.get("agency", ""), permit_id=(node.text or "").strip())


def read_application(signed: etree._Element) -> Application:
    """Build the domain application from a schema-valid, signature-verified element."""
    transport = _find(signed, "a:Transport")
    assert transport is not None
    carrier = _find(transport, "a:Carrier")
    assert carrier is not None
    return Application(
        declarant=Bin(_text(signed, "a:DeclarantBIN")),
        trader_reference=_text(signed, "a:TraderReference"),
        procedure=_text(signed, "a:Procedure"),
        consignor=_party(_must(signed, "a:Consignor")),
        consignee=_party(_must(signed, "a:Consignee")),
        transport=Transport(
            mode=_text(transport, "a:Mode"),
            plate=_text(transport, "a:Vehicle/a:Plate"),
            trailer_plate=_opt(transport, "a:Vehicle/a:TrailerPlate"),
            axles=int(_text(transport, "a:Vehicle/a:Axles")),
            gross_mass_kg=Decimal(_text(transport, "a:Vehicle/a:GrossMassKg")),
            carrier=_party(carrier),
            entry_checkpoint=_text(transport, "a:EntryCheckpoint"),
            planned_arrival=dt.datetime.fromisoformat(_text(transport, "a:PlannedArrival")),
        ),
        items=tuple(_item(n) for n in _iterfind(signed, "a:GoodsItems/a:Item")),
        document_types=tuple(
            (n.text or "").strip() for n in _iterfind(signed, "a:Documents/a:Document/a:Type")
        ),
        documents=tuple(_document(n) for n in _iterfind(signed, "a:Documents/a:Document")),
    )


def _document(node: etree._Element) -> SupportingDocument:
    size = _opt(node, "a:Size")
    return SupportingDocument(
        type=_text(node, "a:Type"),
        number=_text(node, "a:Number"),
        issued_on=dt.date.fromisoformat(_text(node, "a:Date")[:10]),
        issuer=_opt(node, "a:Issuer"),
        media_type=_opt(node, "a:MediaType"),
        size=int(size) if size is not None else None,
        sha256=_opt(node, "a:SHA256"),
    )


def _must(node: etree._Element, path: str) -> etree._Element:
    found = _find(node, path)
    if found is None:
        raise ValueError(f"missing {path}")
    return found
