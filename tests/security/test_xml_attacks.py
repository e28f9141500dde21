"""Attacks on the XML parser and the body limit (issue 4, items 1 and 9).

Every document here must be refused with a problem document, nothing may be fetched (a local
server counts any attempt), no file content may leak into an answer, and a body over the limit
must be refused without being read whole.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

from gateway.errors import ForbiddenXmlConstruct, MalformedXml, TooLarge
from gateway.trust.xmlparse import _parser, parse_xml
from tests.security.conftest import XML, problem_code


@pytest.fixture
def bait() -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 that records every path requested: (base URL, requested paths)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b'<!ENTITY leak "fetched">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    thread.join(5)
    server.server_close()


def attacks(url: str) -> dict[str, bytes]:
    lol = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    big = "A" * 50_000
    return {
        "xxe-file": b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
        "xxe-url": f'<!DOCTYPE a [<!ENTITY x SYSTEM "{url}/xxe">]><a>&x;</a>'.encode(),
        "billion-laughs": f'<!DOCTYPE a [<!ENTITY lol0 "lol">{lol}]><a>&lol9;</a>'.encode(),
        "quadratic-blowup": (
            f'<!DOCTYPE a [<!ENTITY big "{big}">]><a>' + "&big;" * 2000 + "</a>"
        ).encode(),
        "external-dtd": f'<!DOCTYPE Application SYSTEM "{url}/evil.dtd"><Application/>'.encode(),
        "parameter-entity": (
            f'<!DOCTYPE a [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]><a>&leak;</a>'.encode()
        ),
    }


NAMES = list(attacks("http://x"))


@pytest.mark.parametrize("name", NAMES)
def test_parser_refuses_and_fetches_nothing(name: str, bait: tuple[str, list[str]]) -> None:
    url, hits = bait
    with pytest.raises((ForbiddenXmlConstruct, MalformedXml)):
        parse_xml(attacks(url)[name])
    assert hits == []


@pytest.mark.parametrize("name", NAMES)
def test_api_refuses_with_a_problem_and_leaks_nothing(
    name: str, bait: tuple[str, list[str]], client: FlaskClient
) -> None:
    url, hits = bait
    response = client.post("/api/v1/applications", data=attacks(url)[name], headers=XML)
    assert response.status_code == 400, response.data[:300]
    assert problem_code(response) in ("forbidden-xml-construct", "malformed-xml")
    assert b"root:" not in response.data and b"fetched" not in response.data
    assert hits == []


@pytest.mark.parametrize("name", NAMES)
def test_parser_settings_alone_expand_and_fetch_nothing(
    name: str, bait: tuple[str, list[str]]
) -> None:
    """The second line of defence: even before the DOCTYPE refusal, the parser itself neither
    expands entities nor loads anything."""
    url, hits = bait
    try:
        root = etree.fromstring(attacks(url)[name], parser=_parser())
    except etree.XMLSyntaxError:
        root = None
    if root is not None:
        text = "".join(root.itertext())
        assert "root:" not in text and "fetched" not in text and "lollol" not in text
        assert len(text) < 1000
    assert hits == []


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(ForbiddenXmlConstruct, match="deep"):
        parse_xml(b"<a>" * 65 + b"</a>" * 65)
    parse_xml(b"<a>" * 64 + b"</a>" * 64)


def test_too_many_nodes_are_refused() -> None:
    with pytest.raises(ForbiddenXmlConstruct, match="nodes"):
        parse_xml(b"<a>" + b"<b/>" * 50_000 + b"</a>")
    parse_xml(b"<a>" + b"<b/>" * 49_999 + b"</a>")


def test_size_cap_is_checked_before_parsing() -> None:
    with pytest.raises(TooLarge):
        parse_xml(b"<a>" + b" " * 100 + b"</a>", max_bytes=64)


class EndlessBody:
    """A wsgi.input that never ends, counting what is read from it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("the whole body was asked for")
        self.read_bytes += size
        return b" " * size

    def readline(self, size: int = -1) -> bytes:
        return self.read(size if size and size > 0 else 1024)


def _environ(body: EndlessBody, **headers: str) -> dict[str, object]:
    sent = Headers({"Content-Type": "application/xml", **headers})
    environ = EnvironBuilder(method="POST", path="/api/v1/applications", headers=sent).get_environ()
    environ["wsgi.input"] = body
    return environ


def test_endless_chunked_body_is_refused_without_being_read_whole(
    app_factory: Callable[..., Flask],
) -> None:
    limit = 64 * 1024
    app = app_factory(max_body_bytes=limit)
    body = EndlessBody()
    environ = _environ(body, **{"Transfer-Encoding": "chunked"})
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True  # as gunicorn and werkzeug's server set for chunked
    _iterable, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("413")
    assert body.read_bytes <= 2 * limit


def test_declared_oversize_body_is_refused_without_reading(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(max_body_bytes=1024)
    body = EndlessBody()
    environ = _environ(body)
    environ["CONTENT_LENGTH"] = str(10 * 1024 * 1024)
    iterable, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("413")
    assert b"body-too-large" in b"".join(iterable)
    assert body.read_bytes == 0


def test_oversize_body_gets_a_problem(client: FlaskClient) -> None:
    response = client.post("/api/v1/applications", data=b"<a/>" + b" " * 6_000_000, headers=XML)
    assert response.status_code == 413
    assert problem_code(response) == "body-too-large"


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x", None]
)
def test_wrong_media_type_is_refused(
    client: FlaskClient, signed_sample: Callable[..., bytes], content_type: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(
        "/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=headers
    )
    assert response.status_code == 415
    assert problem_code(response) == "unsupported-media-type"


def test_chunked_body_just_over_the_limit_is_refused_not_cut(
    app_factory: Callable[..., Flask], signed_sample: Callable[..., bytes]
) -> None:
    """A signed application padded past the limit: cut at the limit it would still be a valid
    document, so only refusing (not truncating) keeps the cap honest."""
    import io

    signed = signed_sample("fresh-apples-import")
    limit = len(signed) + 100
    app = app_factory(max_body_bytes=limit)
    environ = _environ(EndlessBody(), **{"Transfer-Encoding": "chunked"})
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(signed + b" " * 101)
    environ["wsgi.input_terminated"] = True
    iterable, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("413"), b"".join(iterable)[:300]
