"""Fixtures for the agency-side integration tests: simulators, fake agencies, specs and samples."""

from __future__ import annotations

import datetime as dt
import threading
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree
from werkzeug.serving import make_server

from adapters.base import AgencyAdapter, AgencySpec, Credentials
from adapters.registry import build_adapter
from gateway.pki.dev import DevPki
from simulators import wsse
from simulators.security import RESPONSE_COMPONENTS, AgencyKeys, Message, sign_http
from simulators.server import RunningAgency, start_agency

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
AGENCIES = tomllib.loads((ROOT / "mappings" / "agencies.toml").read_text())["agencies"]


def agency_spec(code: str, endpoint: str, timeout_s: float = 5.0) -> AgencySpec:
    """The spec of `code` as mappings/agencies.toml describes it, pointed at `endpoint`."""
    entry = AGENCIES[code]
    return AgencySpec(
        code=code,
        name=entry["name"],
        protocol=entry["protocol"],
        endpoint=endpoint,
        mapping_dir=ROOT / "mappings" / "agencies" / code,
        contract=ROOT / entry["contract"],
        timeout_s=timeout_s,
    )


def credentials(pki: DevPki, code: str, **overrides: object) -> Credentials:
    """The gateway's key and certificate from the test PKI, pinning agency `code`'s certificate."""
    return Credentials.from_files(
        pki.directory / "gateway.key",
        pki.directory / "gateway.pem",
        pki.directory / f"agency-{code}.pem",
        clock=lambda: dt.datetime.now(dt.UTC),
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def adapter_for(pki: DevPki) -> Callable[..., AgencyAdapter]:
    """adapter_for(code, endpoint, timeout_s=5.0): the agency's adapter with test credentials."""

    def make(code: str, endpoint: str, timeout_s: float = 5.0) -> AgencyAdapter:
        return build_adapter(agency_spec(code, endpoint, timeout_s), credentials(pki, code))

    return make


def sample(name: str, edit: Callable[[bytes], bytes] | None = None) -> bytes:
    raw = (SAMPLES / f"{name}.xml").read_bytes()
    return edit(raw) if edit else raw


@pytest.fixture
def agency_server(pki: DevPki) -> Iterator[Callable[..., RunningAgency]]:
    """agency_server(code, **options): a simulator on 127.0.0.1:<free port> using the test PKI,
    stopped afterwards."""
    started: list[RunningAgency] = []

    def start(code: str, **options: object) -> RunningAgency:
        options.setdefault("pki_dir", pki.directory)
        agency = start_agency(code, **options)  # type: ignore[arg-type]
        started.append(agency)
        return agency

    yield start
    for agency in started:
        agency.stop()


@dataclass
class FakeAgency:
    """A scripted HTTP server: records each request body and answers what `reply` returns."""

    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


class Received(bytes):
    """A request body as the fake agency received it, with the request's method, URL and header
    fields (an answer signed for this request needs them)."""

    method: str = "POST"
    url: str = ""
    headers: dict[str, str]


Reply = Callable[[Received], tuple[int, dict[str, str], bytes]]


@pytest.fixture
def fake_agency() -> Iterator[Callable[[Reply], FakeAgency]]:
    """fake_agency(reply): a server whose answers are `reply(request_body)` -> status, headers,
    body; the exact bytes received are kept in `.requests`."""
    running: list[tuple[object, threading.Thread]] = []

    def start(reply: Reply) -> FakeAgency:
        fake = FakeAgency(url="")

        def app(
            environ: dict[str, object], start_response: Callable[..., object]
        ) -> Iterable[bytes]:
            length = int(str(environ.get("CONTENT_LENGTH") or 0))
            body = environ["wsgi.input"].read(length)  # type: ignore[attr-defined]
            headers = {
                k[5:].replace("_", "-").title(): str(v)
                for k, v in environ.items()
                if k.startswith("HTTP_")
            }
            fake.requests.append((headers, body))
            received = Received(body)
            received.method = str(environ["REQUEST_METHOD"])
            received.url = f"http://{environ['HTTP_HOST']}{environ['PATH_INFO']}"
            received.headers = headers
            status, out_headers, out = reply(received)
            start_response(f"{status} X", list(out_headers.items()))
            return [out]

        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        running.append((server, thread))
        fake.url = f"http://127.0.0.1:{server.server_port}"
        return fake

    yield start
    for server, thread in running:
        server.shutdown()  # type: ignore[attr-defined]
        thread.join(10)
        server.server_close()  # type: ignore[attr-defined]


def agency_reply(
    pki: DevPki, code: str, answer: bytes, request: Received
) -> tuple[dict[str, str], bytes]:
    """Headers and body an agency would answer `request` with, carrying `answer` (the payload of
    a genuine answer), signed afresh by the agency's key from the test PKI and bound to `request`:
    RFC 9421 `;req` components for a REST agency, a SignatureConfirmation for a SOAP one."""
    if AGENCIES[code]["protocol"] == "soap":
        return {"Content-Type": "text/xml; charset=utf-8"}, resigned_soap(
            pki, code, answer, lambda b: b, request
        )
    keys = AgencyKeys.load(code, pki.directory)
    asked = Message(request.headers, method=request.method, url=request.url)
    message = Message({"Content-Type": "application/json"}, status_code=200, request=asked)
    sign_http(message, answer, keys.key, keys.cert, RESPONSE_COMPONENTS)
    return message.headers, answer


def resigned_soap(
    pki: DevPki,
    code: str,
    envelope: bytes,
    edit: Callable[[bytes], bytes],
    request: bytes,
) -> bytes:
    """A SOAP answer to `request` edited and then signed again by the agency: a genuine, signed
    answer that says what `edit` makes it say."""
    root = etree.fromstring(envelope)
    header = root.find(f"{{{wsse.SOAP11}}}Header")
    if header is not None:
        root.remove(header)
    root = etree.fromstring(edit(etree.tostring(root)))
    keys = AgencyKeys.load(code, pki.directory)
    confirm = wsse.signature_value(etree.fromstring(request))
    return bytes(etree.tostring(wsse.sign(root, keys.key, keys.cert, confirm)))
