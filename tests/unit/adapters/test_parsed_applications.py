"""The JSON request mappings read through `ParsedApplications` (one parse per application, shared
by the JSON agencies' adapters and their threads) and by one combined XPath give what each
field's own XPath over the application's own parse gives (`JsonMapping(combine=False)`): the
same body, or the same refusal, whatever the application holds, and whichever application was
read before."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters.errors import MappingFailed
from adapters.json_mapping import JsonMapping, ParsedApplications
from wire.xmlparse import XmlRefused, parse_untrusted

ROOT = Path(__file__).resolve().parents[3]
MAPPINGS = [
    *(ROOT / "mappings" / "agencies" / c / "request.json" for c in ("health", "police")),
    *(ROOT / "mappings" / "agencies" / c / "request.json" for c in ("transport", "veterinary")),
    ROOT
    / "tests"
    / "data"
    / "fifth_agency"
    / "mappings"
    / "agencies"
    / "radiation"
    / "request.json",
]
SAMPLES = sorted((ROOT / "samples").glob("*.xml"))
PARAMS = {"case_id": "case-1", "application_id": "app-1", "callback_url": None}
OTHER_NS = "urn:example:other"
_LEAF = re.compile(rb"<([A-Za-z]+)>([^<]*)</\1>")

# What is put around or into one leaf element `<N>v</N>` of a sample: each a way a path's first
# match and string value (XPath 1.0 §5.2) differ from "the first element's text".
LEAF_VARIANTS: dict[str, Callable[[bytes, bytes], bytes]] = {
    "comment inside": lambda n, v: b"<%s>%s<!--c-->%s</%s>" % (n, v[:2], v[2:], n),
    "PI inside": lambda n, v: b"<%s>%s<?pi x?>%s</%s>" % (n, v[:2], v[2:], n),
    "child inside": lambda n, v: b"<%s>%s<Sub>9</Sub>%s</%s>" % (n, v[:2], v[2:], n),
    "empty one first": lambda n, v: b"<%s/><%s>%s</%s>" % (n, n, v, n),
    "another one after": lambda n, v: b"<%s>%s</%s><%s>7</%s>" % (n, v, n, n, n),
    "CDATA": lambda n, v: b"<%s><![CDATA[%s&<>]]></%s>" % (n, v, n),
    "other namespace first": lambda n, v: (
        b'<%s xmlns="%s">8</%s><%s>%s</%s>' % (n, OTHER_NS.encode(), n, n, v, n)
    ),
    "prefixed": lambda n, v: b'<p:%s xmlns:p="urn:kz:nsw:application:1">%s</p:%s>' % (n, v, n),
    "spaces": lambda n, v: b"<%s>  %s \n</%s>" % (n, v, n),
    "blank": lambda n, v: b"<%s> </%s>" % (n, n),
    "nested copy first": lambda n, v: b"<Wrap><%s>6</%s></Wrap><%s>%s</%s>" % (n, n, n, v, n),
    # The combined XPath's separator (U+E000) inside a value.
    "separator inside": lambda n, v: b"<%s>%s\xee\x80\x80%s</%s>" % (n, v[:2], v[2:], n),
}

# Whole-document changes: a parent repeated (the path's first match under its second copy), the
# root in another namespace, a namespace prefix on every element.
DOCUMENT_VARIANTS: dict[str, Callable[[bytes], bytes]] = {
    "transport twice, first without vehicle": lambda d: d.replace(
        b"<Transport>", b"<Transport><Mode>road</Mode></Transport><Transport>", 1
    ),
    "vehicle twice, first empty": lambda d: d.replace(b"<Vehicle>", b"<Vehicle/><Vehicle>", 1),
    "transport twice, both whole": lambda d: re.sub(
        rb"(?s)<Transport>.*?</Transport>", lambda m: m[0] + re.sub(rb">(\w)", rb">X\1", m[0]), d
    ),
    "root in another namespace": lambda d: d.replace(
        b'xmlns="urn:kz:nsw:application:1"', b'xmlns="%s"' % OTHER_NS.encode(), 1
    ),
    "prefixed everywhere": lambda d: re.sub(rb"<(/?)([A-Za-z]+)([ >/])", rb"<\1q:\2\3", d).replace(
        b'xmlns="urn:kz:nsw:application:1"', b'xmlns:q="urn:kz:nsw:application:1"', 1
    ),
}


def documents() -> Iterator[tuple[str, bytes]]:
    for sample in SAMPLES:
        data = sample.read_bytes()
        yield sample.stem, data
        for name, change in DOCUMENT_VARIANTS.items():
            yield f"{sample.stem}: {name}", change(data)
        for found in _LEAF.finditer(data):
            for name, make in LEAF_VARIANTS.items():
                changed = data[: found.start()] + make(found[1], found[2]) + data[found.end() :]
                yield f"{sample.stem}: {found[1].decode()} {name}", changed


def outcome(render: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return "body", render(*args)
    except MappingFailed as exc:
        return "refused", str(exc)


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.parent.name)
def test_the_same_body_or_refusal_as_the_mapping_over_its_own_parse(path: Path) -> None:
    mapping, field_by_field = JsonMapping(path), JsonMapping(path, combine=False)
    seen = 0
    for name, data in documents():
        expected = outcome(field_by_field.render, parse_untrusted(data), PARAMS)
        assert outcome(mapping.render, parse_untrusted(data), PARAMS) == expected, name
        # A fresh cache (a miss) and the same bytes again (a hit), as copies of the bytes.
        applications = ParsedApplications()
        for _ in range(2):
            got = outcome(applications.render, mapping, bytes(bytearray(data)), PARAMS)
            assert got == expected, name
        seen += 1
    assert seen > 400  # the variants were made (a sample without leaves would test nothing)


def test_the_variants_change_what_is_read() -> None:
    """The variants change the body (a comment or child inside, an empty first copy, another
    namespace): a read of the wrong tree, or a careless read of one, shows."""
    mapping = JsonMapping(MAPPINGS[2])  # transport: plain paths, one sum()
    data = (ROOT / "samples" / "overweight-machinery-transit.xml").read_bytes()
    plate = b"<Plate>512KTC08</Plate>"
    assert plate in data
    for inside, expected in [
        (b"<Plate>51<!--c-->2KTC08</Plate>", "512KTC08"),
        (b"<Plate>51<Sub>9</Sub>2KTC08</Plate>", "5192KTC08"),
        (b"<Plate/><Plate>512KTC08</Plate>", None),
        (b'<Plate xmlns="urn:example:other">8</Plate><Plate>512KTC08</Plate>', "512KTC08"),
    ]:
        body = outcome(ParsedApplications().render, mapping, data.replace(plate, inside), PARAMS)
        if expected is None:
            assert body == ("refused", "request.json: no value for required field 'plate'")
        else:
            assert body[1]["vehicle"]["plate"] == expected


def test_refused_bytes_are_refused_every_time() -> None:
    applications = ParsedApplications()
    mapping = JsonMapping(MAPPINGS[2])
    bad = b'<!DOCTYPE a [<!ENTITY e "x">]><Application xmlns="urn:kz:nsw:application:1"/>'
    for _ in range(2):
        with pytest.raises(XmlRefused, match="DOCTYPE"):
            applications.render(mapping, bad, PARAMS)
    with pytest.raises(XmlRefused, match="not well-formed"):
        applications.render(mapping, b"<Application", PARAMS)


def test_a_large_application_is_read_the_same_without_being_kept() -> None:
    mapping = JsonMapping(MAPPINGS[2])
    data = SAMPLES[-1].read_bytes()
    applications = ParsedApplications(max_bytes=len(data) - 1)
    expected = mapping.render(parse_untrusted(data), PARAMS)
    assert applications.render(mapping, data, PARAMS) == expected
    assert applications.render(mapping, data.replace(b"512KTC08", b"999"), PARAMS) != expected


def test_applications_that_differ_are_read_apart_and_old_ones_again() -> None:
    mapping = JsonMapping(MAPPINGS[2])
    data = (ROOT / "samples" / "overweight-machinery-transit.xml").read_bytes()
    applications = ParsedApplications(size=2)
    plates = [f"PLATE{n}".encode() for n in range(5)]
    for _ in range(2):  # the second round finds the first ones put out of the cache
        for plate in plates:
            body = applications.render(mapping, data.replace(b"512KTC08", plate), PARAMS)
            assert body["vehicle"]["plate"] == plate.decode()


def test_threads_reading_one_application_at_once_each_get_its_body() -> None:
    applications = ParsedApplications()
    mappings = [JsonMapping(p) for p in MAPPINGS[1:4]]
    data = (ROOT / "samples" / "overweight-machinery-transit.xml").read_bytes()
    expected = [outcome(lambda m=m: m.render(parse_untrusted(data), PARAMS)) for m in mappings]
    results: list[list[tuple[str, Any]]] = []
    start = threading.Barrier(6)

    def run() -> None:
        start.wait()
        results.append(
            [outcome(lambda m=m: applications.render(m, data, PARAMS)) for m in mappings * 20]
        )

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected * 20] * 6


def test_a_prefix_the_mapping_does_not_declare_is_the_xpath_s_error(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(
        '{"operation": "x", "namespaces": {"a": "urn:kz:nsw:application:1"},'
        ' "body": {"procedure": "/b:Application/a:Procedure"}}'
    )
    mapping = JsonMapping(path)
    data = SAMPLES[0].read_bytes()
    with pytest.raises(etree.XPathEvalError, match="Undefined namespace prefix"):
        mapping.render(parse_untrusted(data), PARAMS)
    with pytest.raises(etree.XPathEvalError, match="Undefined namespace prefix"):
        ParsedApplications().render(mapping, data, PARAMS)


def test_a_missing_field_is_refused_before_a_later_xpath_errs(tmp_path: Path) -> None:
    """Field by field, the first field's refusal comes before the second's error: the
    combined XPath's error does not overtake it."""
    path = tmp_path / "request.json"
    path.write_text(
        '{"operation": "x", "namespaces": {"a": "urn:kz:nsw:application:1"},'
        ' "body": {"missing": "/a:Application/a:Nothing", "bad": "/b:Application"}}'
    )
    data = SAMPLES[0].read_bytes()
    for mapping in (JsonMapping(path), JsonMapping(path, combine=False)):
        with pytest.raises(MappingFailed, match="required field 'missing'"):
            mapping.render(parse_untrusted(data), PARAMS)


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-Infinity", b"sNaN"])
def test_a_number_that_is_no_json_number_is_refused(value: bytes) -> None:
    """`Decimal` reads these, `json.dumps` would write them (as NaN, not JSON): refused."""
    mapping = JsonMapping(MAPPINGS[2])
    data = (ROOT / "samples" / "overweight-machinery-transit.xml").read_bytes()
    data = re.sub(rb"<Axles>[^<]*</Axles>", b"<Axles>" + value + b"</Axles>", data)
    with pytest.raises(MappingFailed, match=r"'axles': .* is not a number"):
        mapping.render(parse_untrusted(data), PARAMS)


class _Parses:
    """Counts the parses `ParsedApplications` makes (each a call of `parse_untrusted`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        monkeypatch.setattr("adapters.json_mapping.parse_untrusted", self)

    def __call__(self, data: bytes) -> etree._Element:
        self.count += 1
        return parse_untrusted(data)


@pytest.mark.parametrize(("over", "parses"), [(0, 1), (1, 3)], ids=["at the cap", "over it"])
def test_an_application_over_the_cap_is_parsed_each_time_and_not_kept(
    monkeypatch: pytest.MonkeyPatch, over: int, parses: int
) -> None:
    """At `max_bytes` an application is parsed once and kept; one byte over, it is parsed on
    every call and never kept (what the cache holds stays small, whatever anyone sends)."""
    mapping = JsonMapping(MAPPINGS[2])
    data = (ROOT / "samples" / "overweight-machinery-transit.xml").read_bytes()
    applications = ParsedApplications(max_bytes=len(data) - over)
    parsed = _Parses(monkeypatch)
    for _ in range(3):
        assert applications.render(mapping, data, PARAMS)["vehicle"]["plate"] == "512KTC08"
    assert parsed.count == parses


def test_the_default_cap_is_256_kib(monkeypatch: pytest.MonkeyPatch) -> None:
    mapping = JsonMapping(MAPPINGS[2])
    data = (ROOT / "samples" / "overweight-machinery-transit.xml").read_bytes()
    end = data.rindex(b"</")
    parsed = _Parses(monkeypatch)
    for size, parses in [(256 * 1024, 1), (256 * 1024 + 1, 2)]:
        padded = data[:end] + b" " * (size - len(data)) + data[end:]
        assert len(padded) == size
        applications = ParsedApplications()
        before = parsed.count
        for _ in range(2):
            applications.render(mapping, padded, PARAMS)
        assert parsed.count - before == parses, size


class _Reader:
    """A mapping whose `render` notes how many threads are inside it at once, per tree."""

    def __init__(self, pause: float, meet: threading.Barrier | None = None) -> None:
        self._pause, self._meet = pause, meet
        self._lock = threading.Lock()
        self._inside: dict[int, int] = {}
        self.most: dict[int, int] = {}

    def render(self, root: etree._Element, params: object) -> str:
        with self._lock:
            self._inside[id(root)] = self._inside.get(id(root), 0) + 1
            self.most[id(root)] = max(self.most.get(id(root), 0), self._inside[id(root)])
        if self._meet is not None:
            self._meet.wait(timeout=10)  # broken (raises) unless all arrive: no global lock
        time.sleep(self._pause)
        with self._lock:
            self._inside[id(root)] -= 1
        return str(root.tag)


def _run_at_once(count: int, work: Callable[[int], object]) -> None:
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        start.wait()
        try:
            work(n)
        except BaseException as exc:  # reported on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_one_application_s_tree_is_read_by_one_thread_at_a_time() -> None:
    applications = ParsedApplications()
    reader = _Reader(pause=0.02)
    data = (ROOT / "samples" / "overweight-machinery-transit.xml").read_bytes()
    mapping: Any = reader
    _run_at_once(4, lambda n: [applications.render(mapping, data, PARAMS) for _ in range(3)])
    assert list(reader.most.values()) == [1]


def test_different_applications_are_read_at_the_same_time() -> None:
    """The lock is the entry's, not the cache's: two applications' trees are read at once
    (each reader waits inside `render` until the other has come in)."""
    applications = ParsedApplications()
    reader = _Reader(pause=0, meet=threading.Barrier(2))
    data = (ROOT / "samples" / "overweight-machinery-transit.xml").read_bytes()
    apps = [data, data.replace(b"512KTC08", b"PLATE1")]
    mapping: Any = reader
    _run_at_once(2, lambda n: applications.render(mapping, apps[n], PARAMS))
    assert sorted(reader.most.values()) == [1, 1]
