"""A library's words inside one of our details (issue 21, item 2): libxml2's common XML Schema
messages are said as translated sentences, anything else stays as it came, quoted and marked as
technical in Kazakh and Russian; the English is the library's words, unchanged."""

from __future__ import annotations

import pytest
from lxml import etree

from gateway.errors import SchemaViolation
from gateway.i18n import localize
from gateway.i18n.catalogs import translations
from gateway.i18n.library import SCHEMA_MESSAGES, library_words
from gateway.i18n.stored import Recalled
from gateway.trust.schemas import validate

XSD = rb"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t"
    xmlns="urn:t" elementFormDefault="qualified">
  <xs:element name="A"><xs:complexType><xs:sequence>
    <xs:element name="Code"><xs:simpleType><xs:restriction base="xs:string">
      <xs:pattern value="\d{10}"/></xs:restriction></xs:simpleType></xs:element>
    <xs:element name="Qty" type="xs:decimal"/>
    <xs:choice><xs:element name="Kind"><xs:simpleType><xs:restriction base="xs:string">
      <xs:enumeration value="x"/><xs:enumeration value="y"/></xs:restriction></xs:simpleType>
    </xs:element><xs:element name="Sort" type="xs:string"/></xs:choice>
    <xs:element name="Name"><xs:simpleType><xs:restriction base="xs:string">
      <xs:maxLength value="3"/><xs:minLength value="2"/></xs:restriction></xs:simpleType>
    </xs:element>
    <xs:element name="N"><xs:simpleType><xs:restriction base="xs:integer">
      <xs:minInclusive value="1"/><xs:maxInclusive value="9"/></xs:restriction></xs:simpleType>
    </xs:element>
  </xs:sequence><xs:attribute name="v" use="required"/></xs:complexType></xs:element>
</xs:schema>"""
GOOD = {"Code": "1234567890", "Qty": "1", "Kind": "x", "Name": "ab", "N": "1"}


def _doc(attributes: str = 'v="1"', **children: str | None) -> etree._Element:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in (GOOD | children).items() if v is not None)
    return etree.fromstring(f'<A xmlns="urn:t" {attributes}>{inner}</A>')


BROKEN = {
    "pattern": _doc(Code="12"),
    "atomic type": _doc(Qty="z"),
    "enumeration": _doc(Kind="q"),
    "maxLength": _doc(Name="abcd"),
    "minLength": _doc(Name="a"),
    "minInclusive": _doc(N="0"),
    "maxInclusive": _doc(N="10"),
    "not expected, one": _doc(Qty=None),
    "not expected, one of": _doc(Kind=None, Name=None, N=None, Z=""),
    "not expected": _doc(Z=""),
    "missing child, one": etree.fromstring('<A xmlns="urn:t" v="1"><Code>1234567890</Code></A>'),
    "missing child, one of": _doc(Kind=None, Name=None, N=None),
    "required attribute": _doc(attributes=""),
    "attribute not allowed": _doc(attributes='v="1" w="2"'),
    "no declaration": etree.fromstring('<B xmlns="urn:t"/>'),
}


def _message(element: etree._Element) -> str:
    schema = etree.XMLSchema(etree.fromstring(XSD))
    assert not schema.validate(element)
    return str(schema.error_log.last_error.message)


@pytest.mark.parametrize("case", BROKEN)
def test_a_common_schema_message_is_a_translated_sentence(case: str) -> None:
    message = _message(BROKEN[case])
    said = library_words(message)
    assert isinstance(said, Recalled), f"libxml2 now says {message!r}: update SCHEMA_MESSAGES"
    assert said == message  # the English is the library's own
    russian = localize(said, translations("ru").gettext)
    assert russian != message and "техническое" not in russian
    assert not {"Element", "expected", "facet", "value"} & set(russian.replace("'", " ").split())


def test_every_template_is_met_by_a_real_message() -> None:
    met = {library_words(_message(e)).msgid for e in BROKEN.values()}
    assert met == set(SCHEMA_MESSAGES)


@pytest.mark.parametrize(
    ("language", "marked"),
    [("ru", "техническое сообщение: «"), ("kk", "техникалық хабар: «"), ("en", "")],  # noqa: RUF001
)
def test_other_words_stay_as_they_came_marked_as_technical(language: str, marked: str) -> None:
    words = "Signature verification failed: digest mismatch"
    said = localize(library_words(words), translations(language).gettext)
    assert said == (f"{marked}{words}»" if marked else words)


def test_a_schema_violation_reads_in_russian_around_the_names() -> None:
    with pytest.raises(SchemaViolation) as caught:
        validate(etree.XMLSchema(etree.fromstring(XSD)), _doc(Code="12"))
    assert caught.value.detail == (
        "Line 1: Element '{urn:t}Code': [facet 'pattern'] The value '12' is not accepted by the "
        "pattern '\\d{10}'."
    )
    assert localize(caught.value.detail, translations("ru").gettext) == (
        "Строка 1: Элемент '{urn:t}Code': значение '12' не соответствует шаблону '\\d{10}'."
    )
