"""Each stand-in agency against its own contract, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import copy
import datetime as dt
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import requests
import zeep
from lxml import etree

from gateway.pki.dev import DevPki
from simulators.server import RunningAgency
from tests.integration.conftest import ROOT, sample
from wire import httpsig
from wire.keys import load_certificate, load_rsa_key
from wire.wsse import sign_envelope

# The gateway's key and certificate from the test PKI: requests are signed as the gateway signs them.
GATEWAY: dict[str, Any] = {}

# zeep is untyped; reached through Any as adapters/soap.py does.
_zeep: Any = zeep


@pytest.fixture(autouse=True)
def _gateway_keys(pki: DevPki) -> None:
    GATEWAY["key"] = load_rsa_key(pki.directory / "gateway.key")
    GATEWAY["cert"] = load_certificate(pki.directory / "gateway.pem")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP = {
    "customs": ("urn:kz:kgd:customs:declaration:1", "RegisterDeclarationResponse"),
    "phytosanitary": ("urn:kz:moa:phyto:1", "CheckConsignmentResponse"),
}
REST = {
    "health": "/v1/sanitary-permits",
    "transport": "/v1/transport-checks",
    "police": "/v1/entry-checks",
    "veterinary": "/v1/veterinary-permits",
}


# ----- SOAP agencies -----


def soap_body(code: str, case_id: str, name: str = "fresh-apples-import") -> bytes:
    """A request envelope made with the agency's stylesheet straight from the sample."""
    xslt = etree.XSLT(etree.parse(str(ROOT / "mappings" / "agencies" / code / "request.xslt")))
    body = xslt(
        etree.fromstring(sample(name)),
        **{"case-id": etree.XSLT.strparam(case_id), "application-id": etree.XSLT.strparam("A1")},
    ).getroot()
    return envelope(body)


def envelope(body: etree._Element | str) -> bytes:
    inner = body if isinstance(body, str) else etree.tostring(body).decode()
    return (
        f'<?xml version="1.0"?><s:Envelope xmlns:s="{SOAP11}"><s:Body>{inner}</s:Body></s:Envelope>'
    ).encode()


def post_soap(url: str, data: bytes, sign: bool = True) -> requests.Response:
    """POST `data`; a well-formed SOAP 1.1 envelope is first signed as the gateway signs it."""
    if sign:
        try:
            root = etree.fromstring(data)
        except etree.XMLSyntaxError:
            root = None
        if root is not None and root.find(f"{{{SOAP11}}}Body") is not None:
            sign_envelope(root, GATEWAY["key"], GATEWAY["cert"], now=now())
            data = etree.tostring(root)
    return requests.post(url, data=data, headers={"Content-Type": "text/xml"}, timeout=5)


def xsd(code: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(ROOT / "wsdl" / code / f"{code}.xsd")))


def fault_of(response: requests.Response) -> tuple[str, str]:
    assert response.headers["Content-Type"].startswith("text/xml")
    node = etree.fromstring(response.content).find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert node is not None, response.text
    return node.findtext("faultcode") or "", node.findtext("faultstring") or ""


@pytest.mark.parametrize("code", SOAP)
def test_soap_answer_validates_against_the_agency_xsd(
    agency_server: Callable[..., RunningAgency], code: str
) -> None:
    agency = agency_server(code)
    response = post_soap(agency.url, soap_body(code, "case-1"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    body = etree.fromstring(response.content).find(f"{{{SOAP11}}}Body")
    assert body is not None and len(body) == 1
    ns, name = SOAP[code]
    assert body[0].tag == f"{{{ns}}}{name}"
    xsd(code).assertValid(copy.deepcopy(body[0]))
    assert body[0].findtext(f"{{{ns}}}CaseId") == "case-1"


@pytest.mark.parametrize("code", SOAP)
def test_soap_wsdl_is_served_with_this_address_and_loads_in_zeep(
    agency_server: Callable[..., RunningAgency], code: str
) -> None:
    agency = agency_server(code)
    response = requests.get(agency.url + "/?wsdl", timeout=5)
    assert response.status_code == 200
    wsdl = etree.fromstring(response.content)
    address = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None and address.get("location") == agency.url + "/"
    # The imported schema is served next to it, so a client can build itself from the URL alone.
    client = _zeep.Client(agency.url + "/?wsdl")
    assert [str(q) for q in client.wsdl.bindings]


@pytest.mark.parametrize("code", SOAP)
def test_soap_same_case_id_returns_the_first_answer_byte_for_byte(
    agency_server: Callable[..., RunningAgency], code: str
) -> None:
    agency = agency_server(code)
    first, again, other = (
        payload_of(post_soap(agency.url, soap_body(code, case)))
        for case in ("case-7", "case-7", "case-8")
    )
    assert first == again  # the same answer (its envelope is signed afresh each time)
    assert other != first


def payload_of(response: requests.Response) -> bytes:
    body = etree.fromstring(response.content).find(f"{{{SOAP11}}}Body")
    assert body is not None
    return bytes(etree.tostring(body[0], method="c14n"))


BAD_SOAP = {
    "not XML": b"this is not xml",
    "XXE": (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&e;</s:Body>'
        b"</s:Envelope>"
    ),
    "not an envelope": b"<Envelope/>",
    "unknown operation": envelope("<x:Other xmlns:x='urn:x'/>"),
    "two body elements": envelope("<a/><b/>"),
}


@pytest.mark.parametrize("code", SOAP)
@pytest.mark.parametrize("case", BAD_SOAP)
def test_soap_bad_input_gets_a_client_fault_not_a_crash(
    agency_server: Callable[..., RunningAgency], code: str, case: str
) -> None:
    agency = agency_server(code)
    response = post_soap(agency.url, BAD_SOAP[case])
    assert response.status_code == 500
    faultcode, faultstring = fault_of(response)
    assert faultcode == "soap:Client" and faultstring
    assert b"root:" not in response.content  # nothing of /etc/passwd comes back


@pytest.mark.parametrize("code", SOAP)
def test_soap_request_breaking_the_schema_is_a_client_fault(
    agency_server: Callable[..., RunningAgency], code: str
) -> None:
    agency = agency_server(code)
    broken = soap_body(code, "case-1").replace(b"<CaseId>case-1</CaseId>", b"")
    assert broken != soap_body(code, "case-1")
    faultcode, faultstring = fault_of(post_soap(agency.url, broken))
    assert faultcode == "soap:Client"
    assert "schema" in faultstring


def test_soap_12_envelope_is_a_version_mismatch(
    agency_server: Callable[..., RunningAgency],
) -> None:
    agency = agency_server("customs")
    data = b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>'
    assert fault_of(post_soap(agency.url, data))[0] == "soap:VersionMismatch"


@pytest.mark.parametrize("code", SOAP)
def test_soap_simulated_faults(agency_server: Callable[..., RunningAgency], code: str) -> None:
    agency = agency_server(code, outage=True)
    assert post_soap(agency.url, soap_body(code, "c")).status_code == 503
    agency.options.outage = False
    agency.options.error_rate = 0.5
    statuses = [post_soap(agency.url, soap_body(code, "c")).status_code for _ in range(4)]
    assert statuses == [200, 500, 200, 500]  # deterministic: every second request fails
    agency.options.error_rate = 1.0
    response = post_soap(agency.url, soap_body(code, "c"))
    assert fault_of(response)[0] == "soap:Server"


# ----- REST agencies -----


def openapi(code: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((ROOT / "wsdl" / code / "openapi.json").read_text())
    return doc


def conforms(value: Any, schema: dict[str, Any], doc: dict[str, Any], path: str = "$") -> list[str]:
    """A deliberately small, independent walk of an OpenAPI schema: $ref, type, required, enum,
    properties (no extras when additionalProperties is false) and array items."""
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        schema = node
    types: dict[str, type | tuple[type, ...]] = {
        "object": dict,
        "array": list,
        "string": str,
        "integer": int,
        "number": (int, float),
    }
    if "type" in schema and not isinstance(value, types[schema["type"]]):
        return [f"{path}: not {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} not in enum"]
    errors: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{path}.{k}: missing" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in props:
                errors += conforms(item, props[key], doc, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}.{key}: not in the schema")
    if isinstance(value, list):
        for i, item in enumerate(value):
            errors += conforms(item, schema.get("items", {}), doc, f"{path}[{i}]")
    return errors


def health_body(case_id: str, hs: str = "0808108000", docs: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "caseId": case_id,
        "applicationId": "A1",
        "procedure": "import",
        "applicant": {"bin": "210540012341", "name": "Steppe Agro LLP"},
        "products": [
            {
                "line": 1,
                "hsCode": hs,
                "description": "goods",
                "originCountry": "CN",
                "netMassKg": 100,
                "quantity": {"value": 100, "unit": "kg"},
            }
        ],
        "documents": [{"type": t, "number": "N-1", "date": "2026-11-20"} for t in docs],
    }


def transport_body(
    case_id: str, axles: int = 5, mass: float = 36200, country: str = "KZ"
) -> dict[str, Any]:
    return {
        "caseId": case_id,
        "applicationId": "A1",
        "procedure": "import",
        "checkpoint": "KZ-NURZHOLY",
        "plannedArrival": "2026-11-25T09:30:00+05:00",
        "vehicle": {"plate": "123ABC02", "country": "KZ", "axles": axles, "grossMassKg": mass},
        "carrier": {"name": "Carrier", "country": country},
        "cargoGrossMassKg": 20000,
    }


def police_body(
    case_id: str, plate: str = "123ABC02", licence: str = "KZ02AB123456"
) -> dict[str, Any]:
    return {
        "caseId": case_id,
        "applicationId": "A1",
        "procedure": "import",
        "checkpoint": "KZ-NURZHOLY",
        "plannedArrival": "2026-11-25T09:30:00+05:00",
        "vehicle": {"plate": plate, "country": "KZ", "axles": 5, "grossMassKg": 36200},
        "drivers": [{"name": "Driver", "licenceNumber": licence, "licenceCountry": "KZ"}],
        "specialPermits": [],
    }


def veterinary_body(case_id: str, hs: str = "0204100000") -> dict[str, Any]:
    return {
        "caseId": case_id,
        "applicationId": "A1",
        "procedure": "import",
        "borderPost": "KZ-ZHIBEKZHOLY",
        "expectedOn": "2026-11-28",
        "exporter": {
            "name": "Samarkand Meat",
            "country": "UZ",
            "establishmentId": "UZ-VET-0417-SAM",
        },
        "importer": {"name": "Altyn Logistics LLP", "country": "KZ", "bin": "190340025677"},
        "consignments": [
            {
                "line": 1,
                "hsCode": hs,
                "description": "lamb",
                "originCountry": "UZ",
                "netMassKg": 100,
            }
        ],
        "veterinaryCertificates": [{"number": "UZ-VET-1", "date": "2026-11-27"}],
    }


BODIES: dict[str, Callable[..., dict[str, Any]]] = {
    "health": health_body,
    "transport": transport_body,
    "police": police_body,
    "veterinary": veterinary_body,
}


def post_json(
    url: str,
    body: Any,
    key: str | None = "k-1",
    content_type: str = "application/json",
    sign: bool = True,
    after_signing: bytes | None = None,
) -> requests.Response:
    """POST `body`, signed as the gateway signs (RFC 9421); `after_signing` replaces the body
    once it is signed (tampering)."""
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["Idempotency-Key"] = key
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    prepared = requests.Request("POST", url, data=data, headers=headers).prepare()
    if sign:
        httpsig.sign(
            prepared,
            data,
            GATEWAY["key"],
            GATEWAY["cert"],
            now=now(),
            components=httpsig.REQUEST_COMPONENTS,
        )
    if after_signing is not None:
        prepared.body = after_signing
        prepared.headers["Content-Length"] = str(len(after_signing))
    with requests.Session() as session:
        return session.send(prepared, timeout=5)


@pytest.mark.parametrize("code", REST)
def test_rest_answer_conforms_to_the_openapi_answer_schema(
    agency_server: Callable[..., RunningAgency], code: str
) -> None:
    agency = agency_server(code)
    response = post_json(agency.url + REST[code], BODIES[code]("k-1"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    doc = openapi(code)
    schema = doc["paths"][REST[code]]["post"]["responses"]["200"]["content"]["application/json"]
    assert conforms(response.json(), schema["schema"], doc) == []
    assert response.json()["caseId"] == "k-1"


@pytest.mark.parametrize("code", REST)
def test_rest_same_key_returns_the_first_answer(
    agency_server: Callable[..., RunningAgency], code: str
) -> None:
    agency = agency_server(code)
    url = agency.url + REST[code]
    first, again = (post_json(url, BODIES[code]("k-1"), key="k-1") for _ in range(2))
    other = post_json(url, BODIES[code]("k-2"), key="k-2")
    assert first.content == again.content
    assert first.json()["permitNumber"] != other.json()["permitNumber"]


@pytest.mark.parametrize("code", REST)
@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("no key", 400),
        ("not json", 400),
        ("wrong type", 415),
        ("schema", 422),
        ("key mismatch", 422),
    ],
)
def test_rest_bad_input_gets_a_problem_document(
    agency_server: Callable[..., RunningAgency], code: str, case: str, status: int
) -> None:
    agency = agency_server(code)
    url = agency.url + REST[code]
    body = BODIES[code]("k-1")
    if case == "no key":
        response = post_json(url, body, key=None)
    elif case == "not json":
        response = post_json(url, b"{not json")
    elif case == "wrong type":
        response = post_json(url, b"x=1", content_type="application/x-www-form-urlencoded")
    elif case == "schema":
        del body["procedure"]
        body["caseId"] = 42
        response = post_json(url, body)
    else:
        response = post_json(url, body, key="k-other")
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"]
    if case == "schema":
        assert "$.procedure is required" in problem["errors"]
        assert "$.caseId must be of type string" in problem["errors"]


@pytest.mark.parametrize("code", REST)
def test_rest_unknown_route_and_method_are_problems_too(
    agency_server: Callable[..., RunningAgency], code: str
) -> None:
    agency = agency_server(code)
    missing = requests.get(agency.url + "/nowhere", timeout=5)
    wrong_method = requests.get(agency.url + REST[code], timeout=5)
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    for response in (missing, wrong_method):
        assert response.headers["Content-Type"] == "application/problem+json"
    assert requests.get(agency.url + "/openapi.json", timeout=5).json()["openapi"] == "3.1.0"


@pytest.mark.parametrize("code", REST)
def test_rest_simulated_faults(agency_server: Callable[..., RunningAgency], code: str) -> None:
    agency = agency_server(code, outage=True)
    url = agency.url + REST[code]
    down = post_json(url, BODIES[code]("k-1"))
    assert down.status_code == 503 and down.headers["Retry-After"]
    agency.options.outage = False
    agency.options.error_rate = 1.0
    failing = post_json(url, BODIES[code]("k-1"))
    assert failing.status_code == 500
    assert failing.headers["Content-Type"] == "application/problem+json"


def test_transport_rules(agency_server: Callable[..., RunningAgency]) -> None:
    url = agency_server("transport").url + REST["transport"]
    heavy = post_json(url, transport_body("t1", axles=5, mass=41800), key="t1").json()
    assert heavy["status"] == "inspection"
    assert heavy["inspection"]["reason"] == (
        "weighing control at KZ-NURZHOLY: declared 41800 kg exceeds 38000 kg for 5 axles"
    )
    six = post_json(url, transport_body("t2", axles=7, mass=43000), key="t2").json()
    assert six["status"] == "granted"
    foreign = post_json(url, transport_body("t3", country="UZ"), key="t3").json()
    assert foreign["status"] == "granted"
    assert foreign["conditions"][0].startswith("foreign-carrier permit required")
    two = post_json(url, transport_body("t4", axles=2, mass=18500), key="t4").json()
    assert two["status"] == "inspection"  # 18 t for 2 axles is R (unconfirmed) in the reference


def test_health_rules(agency_server: Callable[..., RunningAgency]) -> None:
    url = agency_server("health").url + REST["health"]
    medicine = post_json(url, health_body("h1", hs="3004900009"), key="h1").json()
    assert medicine["status"] == "refused"
    assert medicine["reasons"][0]["code"] == "HEALTH-REGISTRATION-MISSING"
    registered = health_body("h2", hs="3004900009", docs=("registration-certificate",))
    assert post_json(url, registered, key="h2").json()["status"] == "granted"
    food = post_json(url, health_body("h3"), key="h3").json()
    assert food["status"] == "granted" and food["validUntil"] and food["permitNumber"]


# ----- as a process -----


def test_python_m_simulators_prints_its_url_and_stops_on_sigterm(pki: DevPki) -> None:
    # The agency signs its answers, so it needs its key: the test PKI, not a certs/dev that a
    # fresh clone does not have.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators",
            "customs",
            "--port",
            "0",
            "--pki-dir",
            str(pki.directory),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("customs listening on http://127.0.0.1:")
        url = line.split()[-1]
        assert requests.get(url + "/?wsdl", timeout=5).status_code == 200
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
        assert process.returncode == 0
        assert "customs stopped" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


# ----- WS-Security and HTTP message signatures, the agencies' side -----


@pytest.mark.parametrize("code", SOAP)
def test_soap_unsigned_or_badly_signed_request_gets_a_security_fault(
    agency_server: Callable[..., RunningAgency], code: str
) -> None:
    agency = agency_server(code)
    unsigned = post_soap(agency.url, soap_body(code, "case-1"), sign=False)
    assert fault_of(unsigned) == (
        "wsse:FailedCheck",
        "security: the request carries no (or more than one) wsse:Security header",
    )
    root = etree.fromstring(soap_body(code, "case-1"))
    sign_envelope(root, GATEWAY["key"], GATEWAY["cert"], now=now())
    tampered = etree.tostring(root).replace(b">case-1<", b">case-2<")
    code_, text = fault_of(post_soap(agency.url, tampered, sign=False))
    assert code_ == "wsse:FailedCheck" and "Digest mismatch" in text


@pytest.mark.parametrize("code", SOAP)
def test_soap_answer_is_signed_by_the_agency(
    agency_server: Callable[..., RunningAgency], pki: DevPki, code: str
) -> None:
    from wire.wsse import verify_envelope

    agency = agency_server(code)
    response = post_soap(agency.url, soap_body(code, "case-1"))
    pinned = load_certificate(pki.directory / f"agency-{code}.pem")
    verified = verify_envelope(
        etree.fromstring(response.content), pinned, now=now(), skew=dt.timedelta(minutes=2)
    )
    assert verified.payload[0].tag == f"{{{SOAP[code][0]}}}{SOAP[code][1]}"


@pytest.mark.parametrize("code", REST)
@pytest.mark.parametrize("case", ["unsigned", "body changed after signing"])
def test_rest_unsigned_or_tampered_request_is_401(
    agency_server: Callable[..., RunningAgency], code: str, case: str
) -> None:
    agency = agency_server(code)
    body = BODIES[code]("k-1")
    if case == "unsigned":
        response = post_json(agency.url + REST[code], body, sign=False)
    else:
        changed = json.dumps({**body, "applicationId": "A2"}).encode()
        response = post_json(agency.url + REST[code], body, after_signing=changed)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("security: ")


@pytest.mark.parametrize("code", REST)
def test_rest_answer_is_signed_by_the_agency(
    agency_server: Callable[..., RunningAgency], pki: DevPki, code: str
) -> None:
    agency = agency_server(code)
    response = post_json(agency.url + REST[code], BODIES[code]("k-1"))
    pinned = load_certificate(pki.directory / f"agency-{code}.pem")
    verified = httpsig.verify(
        response,
        response.content,
        pinned,
        now=now(),
        skew=dt.timedelta(minutes=2),
        components=httpsig.RESPONSE_COMPONENTS,
    )
    assert verified.body == response.content
