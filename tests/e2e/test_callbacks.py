"""Agencies answering later, through real sockets: the gateway's SOAP and REST callback services,
and every callback the gateway must refuse (wsdl/gateway/gateway.wsdl, gateway/fanout/callbacks.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from lxml import etree

from gateway.bootstrap import Services
from simulators.callbacks import signed_json, signed_soap, soap_callback
from simulators.security import AgencyKeys
from simulators.server import RunningAgency
from tests.gateway_fixtures import KeyringClient
from tests.polling import wait_until

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
CUSTOMS = "urn:kz:kgd:customs:declaration:1"


def until(what: str, check: Callable[[], Any], deadline_s: float = 20.0) -> Any:
    return wait_until(check, deadline_s, what)


def case_of(client: Any, application_id: str, agency: str) -> dict[str, Any]:
    status = client.status(application_id)
    return next(c for c in status["cases"] if c["agency"] == agency)


def kinds(services: Any, application_id: str) -> list[str]:
    return [m.kind for m in services.store.messages(application_id)]


@pytest.mark.parametrize("code", ["customs", "health"])
def test_agency_answering_later_reaches_the_decision(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
    code: str,
) -> None:
    agency = own_agency(code, answer_later=True, callback_delay_s=0.3)
    url, services, client = gateway_at(agency_urls={code: agency.url})
    application_id = client.submit(signed_sample("fresh-apples-import"))["id"]
    until("a callback", lambda: agency.callbacks.sent)
    assert agency.callbacks.sent[0].status == 200, agency.callbacks.sent
    until("decision", lambda: client.status(application_id)["status"] == "decided")
    assert client.status(application_id)["verdict"] == "granted"
    case = case_of(client, application_id, code)
    assert case["state"] == "granted" and case["permit_number"]
    (delivery,) = agency.callbacks.sent
    assert delivery.status == 200 and delivery.url.startswith(url)
    assert "callback" in kinds(services, application_id)


@pytest.mark.parametrize("code", ["customs", "transport"])
def test_callback_before_the_synchronous_answer_settles_and_is_kept(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
    code: str,
) -> None:
    # The agency calls back first, then answers "pending": the case stays granted.
    agency = own_agency(code, answer_later=True, callback_first=True)
    _, services, client = gateway_at(agency_urls={code: agency.url})
    application_id = client.submit(signed_sample("fresh-apples-import"))["id"]
    until("decision", lambda: client.status(application_id)["status"] == "decided")
    until("the synchronous answer", lambda: "agency-answer" in kinds(services, application_id))
    until("every delivery done", lambda: services.store.count_open_outbox() == 0)
    assert case_of(client, application_id, code)["state"] == "granted"
    assert kinds(services, application_id).count("decision") == 1


@pytest.mark.parametrize("tamper", ["body", "wrong-key", "unsigned"])
@pytest.mark.parametrize("code", ["customs", "health"])
def test_untrusted_answer_is_a_security_failure_never_believed(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
    code: str,
    tamper: str,
) -> None:
    agency = own_agency(code, tamper=tamper)
    _, _, client = gateway_at(agency_urls={code: agency.url}, max_attempts=2, retry_base_s=0.05)
    application_id = client.submit(signed_sample("fresh-apples-import"))["id"]
    case = until(
        "escalation",
        lambda: (c := case_of(client, application_id, code))["state"] == "escalated" and c,
    )
    assert "security failure: the answer is not believed" in case["last_error"]
    assert case["permit_number"] is None
    assert client.status(application_id)["status"] != "decided"


# ----- callbacks the gateway must refuse -----


def customs_answer(case_id: str, status: str = "granted", release: str = "KZ-CUS-1") -> Any:
    answer = etree.Element(f"{{{CUSTOMS}}}RegisterDeclarationResponse", nsmap={None: CUSTOMS})
    for tag, text in (("CaseId", case_id), ("RegistrationNumber", "R-1"), ("Status", status)):
        etree.SubElement(answer, f"{{{CUSTOMS}}}{tag}").text = text
    if status == "granted":
        etree.SubElement(answer, f"{{{CUSTOMS}}}ReleaseNumber").text = release
    return answer


def soap_post(url: str, data: bytes) -> tuple[int, str, str]:
    response = requests.post(
        url + "/soap/callbacks", data=data, headers={"Content-Type": "text/xml"}, timeout=10
    )
    root = etree.fromstring(response.content)
    fault = root.find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    if fault is not None:
        return response.status_code, fault.findtext("faultcode") or "", ""
    result = root.find(f"{{{SOAP11}}}Body")[0]
    return response.status_code, "", result.findtext("{urn:kz:nsw:gateway:1}Result") or ""


def soap_callback_bytes(pki: Any, signer: str, case_id: str, answer: Any) -> bytes:
    return signed_soap(soap_callback(case_id, answer), AgencyKeys.load(signer, pki.directory))


@pytest.fixture
def pending_customs(gateway_at, own_agency, signed_sample):  # type: ignore[no-untyped-def]
    """A gateway whose customs case is pending (customs would call back only after an hour)."""
    customs = own_agency("customs", answer_later=True, callback_delay_s=3600)
    url, services, client = gateway_at(agency_urls={"customs": customs.url})
    application_id = client.submit(signed_sample("fresh-apples-import"))["id"]
    case_id = until(
        "customs pending",
        lambda: (c := case_of(client, application_id, "customs"))["state"] == "pending" and c["id"],
    )
    until("every other delivery done", lambda: services.store.count_open_outbox() == 0)
    return url, services, client, application_id, case_id


def test_soap_callbacks_the_gateway_refuses(pending_customs, pki) -> None:  # type: ignore[no-untyped-def]
    url, services, client, application_id, case_id = pending_customs
    before = kinds(services, application_id)
    refused = {
        "unknown case": soap_callback_bytes(
            pki, "customs", "NO-SUCH-CASE", customs_answer("NO-SUCH-CASE")
        ),
        "signed by another agency": soap_callback_bytes(
            pki, "phytosanitary", case_id, customs_answer(case_id)
        ),
        "changed after signing": soap_callback_bytes(
            pki, "customs", case_id, customs_answer(case_id)
        ).replace(b">KZ-CUS-1<", b">KZ-CUS-2<"),
        "unsigned": etree.tostring(soap_callback(case_id, customs_answer(case_id))),
        "pending is not an answer": soap_callback_bytes(
            pki, "customs", case_id, customs_answer(case_id, status="pending")
        ),
    }
    codes = {name: soap_post(url, data)[:2] for name, data in refused.items()}
    assert codes == {
        "unknown case": (500, "nsw:UnknownCase"),
        "signed by another agency": (500, "nsw:NotYourCase"),
        "changed after signing": (500, "nsw:BadSignature"),
        "unsigned": (500, "nsw:BadSignature"),
        "pending is not an answer": (500, "nsw:MalformedAnswer"),
    }
    assert kinds(services, application_id) == before  # nothing written
    assert case_of(client, application_id, "customs")["state"] == "pending"

    # The genuine answer settles it; the same answer again is a duplicate; another is late.
    genuine = soap_callback_bytes(pki, "customs", case_id, customs_answer(case_id))
    assert soap_post(url, genuine) == (200, "", "recorded")
    until("decision", lambda: client.status(application_id)["status"] == "decided")
    decided = kinds(services, application_id)
    again = soap_callback_bytes(pki, "customs", case_id, customs_answer(case_id))
    assert soap_post(url, again) == (200, "", "duplicate")
    late = soap_callback_bytes(pki, "customs", case_id, customs_answer(case_id, release="KZ-X"))
    assert soap_post(url, late)[:2] == (500, "nsw:LateAnswer")
    assert kinds(services, application_id) == decided  # no new decision, nothing written
    assert case_of(client, application_id, "customs")["permit_number"] == "KZ-CUS-1"


def test_soap_callback_wsdl_is_served_and_loads(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
) -> None:
    import zeep

    url, _, _ = gateway_at()
    client: Any = zeep.Client(url + "/soap/callbacks?wsdl")  # type: ignore[no-untyped-call]
    (binding,) = client.wsdl.bindings.values()
    assert list(binding.all()) == ["SubmitAgencyAnswer"]


@pytest.fixture
def pending_health(gateway_at, own_agency, signed_sample):  # type: ignore[no-untyped-def]
    health = own_agency("health", answer_later=True, callback_delay_s=3600)
    url, services, client = gateway_at(agency_urls={"health": health.url})
    application_id = client.submit(signed_sample("fresh-apples-import"))["id"]
    case_id = until(
        "health pending",
        lambda: (c := case_of(client, application_id, "health"))["state"] == "pending" and c["id"],
    )
    until("every other delivery done", lambda: services.store.count_open_outbox() == 0)
    return url, services, client, application_id, case_id


def health_answer(case_id: str, permit: str = "KZ-SEC-1", status: str = "granted") -> bytes:
    answer = {
        "caseId": case_id,
        "reference": "SEC-1",
        "status": status,
        "conditions": [],
        "reasons": [],
    }
    if status == "granted":
        answer["permitNumber"] = permit
    return json.dumps(answer).encode()


def rest_post(
    pki: Any, url: str, agency: str, signer: str, body: bytes, after: bytes | None = None
) -> requests.Response:
    target = f"{url}/api/v1/callbacks/{agency}"
    message = signed_json(target, body, AgencyKeys.load(signer, pki.directory))
    return requests.post(target, data=after or body, headers=message.headers, timeout=10)


def test_rest_callbacks_the_gateway_refuses(pending_health, pki) -> None:  # type: ignore[no-untyped-def]
    url, services, client, application_id, case_id = pending_health
    before = kinds(services, application_id)
    problems = {
        "unknown case": rest_post(pki, url, "health", "health", health_answer("NO-SUCH-CASE")),
        "signed by another agency": rest_post(
            pki, url, "health", "transport", health_answer(case_id)
        ),
        "another agency's case": rest_post(
            pki, url, "transport", "transport", health_answer(case_id)
        ),
        "changed after signing": rest_post(
            pki, url, "health", "health", health_answer(case_id), health_answer(case_id, "KZ-2")
        ),
        "unsigned": requests.post(
            f"{url}/api/v1/callbacks/health",
            data=health_answer(case_id),
            headers={"Content-Type": "application/json"},
            timeout=10,
        ),
        "pending is not an answer": rest_post(
            pki, url, "health", "health", health_answer(case_id, status="pending")
        ),
    }
    got = {name: (r.status_code, r.json()["type"]) for name, r in problems.items()}
    assert got == {
        "unknown case": (404, "urn:kz:nsw:problem:unknown-case"),
        "signed by another agency": (401, "urn:kz:nsw:problem:bad-callback-signature"),
        "another agency's case": (403, "urn:kz:nsw:problem:not-your-case"),
        "changed after signing": (401, "urn:kz:nsw:problem:bad-callback-signature"),
        "unsigned": (401, "urn:kz:nsw:problem:bad-callback-signature"),
        "pending is not an answer": (422, "urn:kz:nsw:problem:malformed-answer"),
    }
    assert kinds(services, application_id) == before
    recorded = rest_post(pki, url, "health", "health", health_answer(case_id))
    assert (recorded.status_code, recorded.json()["result"]) == (200, "recorded")
    until("decision", lambda: client.status(application_id)["status"] == "decided")
    decided = kinds(services, application_id)
    again = rest_post(pki, url, "health", "health", health_answer(case_id))
    assert (again.status_code, again.json()) == (
        200,
        {"caseId": case_id, "result": "duplicate", "state": "granted"},
    )
    late = rest_post(pki, url, "health", "health", health_answer(case_id, "KZ-OTHER"))
    assert (late.status_code, late.json()["type"]) == (409, "urn:kz:nsw:problem:late-answer")
    assert kinds(services, application_id) == decided
