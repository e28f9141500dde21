"""Each adapter against a live simulator (and against scripted fakes for what must fail)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters import (
    AgencyAdapter,
    AgencyAnswerUntrusted,
    AgencyCallFailed,
    AgencyRequest,
    Outcome,
    build_adapter,
)
from gateway.pki.dev import DevPki
from simulators import wsse
from simulators.security import RESPONSE_COMPONENTS, AgencyKeys, Message, sign_http
from simulators.server import RunningAgency
from tests.integration.conftest import (
    FakeAgency,
    Received,
    Reply,
    agency_reply,
    agency_spec,
    credentials,
    resigned_soap,
    sample,
)
from wire.exchange import KEPT_FIELDS, body_of, read_record

EXPECTED = [
    ("fresh-apples-import", "customs", Outcome.GRANTED),
    ("fresh-apples-import", "transport", Outcome.GRANTED),
    ("fresh-apples-import", "police", Outcome.GRANTED),
    ("fresh-apples-import", "phytosanitary", Outcome.GRANTED),
    ("fresh-apples-import", "health", Outcome.GRANTED),
    ("chilled-lamb-import", "veterinary", Outcome.GRANTED),
    ("chilled-lamb-import", "health", Outcome.GRANTED),
    ("live-cattle-import", "customs", Outcome.GRANTED),
    ("live-cattle-import", "transport", Outcome.GRANTED),
    ("live-cattle-import", "police", Outcome.GRANTED),
    ("live-cattle-import", "veterinary", Outcome.REFUSED),
    ("overweight-machinery-transit", "customs", Outcome.GRANTED),
    ("overweight-machinery-transit", "transport", Outcome.INSPECTION),
    ("overweight-machinery-transit", "police", Outcome.INSPECTION),
]
CODES = ("customs", "transport", "police", "veterinary", "phytosanitary", "health")
SOAP_CODES = ("customs", "phytosanitary")
REST_CODES = ("transport", "police", "veterinary", "health")
# A sample each agency grants with a permit (the apples carry nothing under veterinary control).
GRANTED = {"veterinary": "chilled-lamb-import"}


def granted(code: str) -> bytes:
    return sample(GRANTED.get(code, "fresh-apples-import"))


def live_adapter(
    agency_server: Callable[..., RunningAgency],
    adapter_for: Callable[..., AgencyAdapter],
    code: str,
    timeout_s: float = 5.0,
    **options: Any,
) -> tuple[AgencyAdapter, RunningAgency]:
    agency = agency_server(code, **options)
    return adapter_for(code, agency.url, timeout_s), agency


@pytest.mark.parametrize(("name", "code", "outcome"), EXPECTED)
def test_signed_sample_gets_its_expected_outcome(
    agency_server: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
    name: str,
    code: str,
    outcome: Outcome,
    adapter_for: Callable[..., AgencyAdapter],
) -> None:
    # Signed samples: the trader's enveloped ds:Signature must not disturb any mapping.
    adapter, _ = live_adapter(agency_server, adapter_for, code)
    answer = adapter.send(AgencyRequest(f"case-{code}", "app-1", signed_sample(name)))
    assert answer.outcome is outcome
    assert answer.agency_reference
    if outcome is Outcome.GRANTED:
        assert answer.permit_number
    if outcome is Outcome.REFUSED:
        assert [r.code for r in answer.reasons] == ["VET-ORIGIN-RESTRICTED"]
    if outcome is Outcome.INSPECTION and code == "transport":
        assert answer.inspection == (
            "weighing control at KZ-NURZHOLY: declared 41800 kg exceeds 38000 kg for 5 axles"
        )
    if outcome is Outcome.INSPECTION and code == "police":
        assert answer.inspection is not None
        assert answer.inspection.startswith("police escort to weighing at KZ-NURZHOLY")
        assert "no special permit for heavy carriage" in answer.inspection


def test_answer_details_are_read(
    agency_server: Callable[..., RunningAgency], adapter_for: Callable[..., AgencyAdapter]
) -> None:
    customs, _ = live_adapter(agency_server, adapter_for, "customs")
    answer = customs.send(AgencyRequest("c1", "a1", sample("fresh-apples-import")))
    assert answer.permit_number and answer.permit_number.startswith("KZ-CUS-")
    assert answer.extra == {
        "risk_channel": "green",
        "total_duty": "1584.00 USD",
        "total_vat": "2787.84 USD",
    }
    phyto, _ = live_adapter(agency_server, adapter_for, "phytosanitary")
    permit = phyto.send(AgencyRequest("c1", "a1", sample("fresh-apples-import")))
    assert permit.valid_until is not None and (permit.permit_number or "").startswith("KZ-PHY-")
    assert permit.extra["ephyto"] == "CN-PHYTO-650000-2026-08812"
    assert permit.extra["permitId"] == permit.permit_number  # with its balance (issue 20)
    assert any("primary quarantine control" in c for c in permit.conditions)


@pytest.mark.parametrize("code", CODES)
def test_request_and_answer_bytes_are_the_wire_bytes(
    agency_server: Callable[..., RunningAgency],
    fake_agency: Callable[[Reply], FakeAgency],
    code: str,
    adapter_for: Callable[..., AgencyAdapter],
    pki: DevPki,
) -> None:
    # Take a genuine answer from the simulator, then send it (signed afresh for each request, as
    # an answer must be bound to its request) from a recording fake agency.
    adapter, _ = live_adapter(agency_server, adapter_for, code)
    genuine = adapter.send(AgencyRequest("case-9", "app-1", granted(code)))
    sent: list[bytes] = []

    def reply(request):  # type: ignore[no-untyped-def]
        headers, body = agency_reply(pki, code, body_of(genuine.answer_bytes), request)
        sent.append(body)
        return 200, headers, body

    fake = fake_agency(reply)
    recorded = adapter_for(code, fake.url).send(AgencyRequest("case-9", "app-1", granted(code)))
    ((headers, received),) = fake.requests
    # (a signed request is new each time: fresh Timestamp, ids and signature)
    assert body_of(recorded.request_bytes) == received
    assert body_of(recorded.answer_bytes) == sent[0]
    if code in REST_CODES:
        # A REST message is kept whole: what its signature covers and the signature itself.
        kept = read_record(recorded.request_bytes)
        assert (kept.method, kept.fields["signature"]) == ("POST", headers["Signature"])
        assert set(read_record(recorded.answer_bytes).fields) == set(KEPT_FIELDS)
        assert headers["Idempotency-Key"] == "case-9"
        assert json.loads(received)["caseId"] == "case-9"
    else:
        assert headers["Soapaction"].startswith('"urn:kz:')
        # The agency's own request element, whatever prefix it is written with.
        assert etree.fromstring(received).findtext(".//{*}Body/*/{*}CaseId") == "case-9"
        assert b"wsse:Security" in received and b"wsu:Timestamp" in received


@pytest.mark.parametrize("code", CODES)
def test_retry_with_the_same_case_id_returns_the_same_permit(
    agency_server: Callable[..., RunningAgency],
    code: str,
    adapter_for: Callable[..., AgencyAdapter],
) -> None:
    adapter, _ = live_adapter(agency_server, adapter_for, code)
    first = adapter.send(AgencyRequest("case-1", "app-1", granted(code)))
    retry = adapter.send(AgencyRequest("case-1", "app-1", granted(code)))
    other = adapter.send(AgencyRequest("case-2", "app-1", granted(code)))
    assert first.permit_number and retry.permit_number == first.permit_number
    assert retry.agency_reference == first.agency_reference  # the same answer, signed afresh
    assert other.permit_number != first.permit_number


@pytest.mark.parametrize("code", CODES)
def test_outage_is_a_failed_call_with_status(
    agency_server: Callable[..., RunningAgency],
    code: str,
    adapter_for: Callable[..., AgencyAdapter],
) -> None:
    adapter, _ = live_adapter(agency_server, adapter_for, code, outage=True)
    with pytest.raises(AgencyCallFailed, match="503") as failed:
        adapter.send(AgencyRequest("c", "a", granted(code)))
    assert failed.value.status_code == 503
    assert failed.value.request_bytes  # kept for the trail


@pytest.mark.parametrize("code", CODES)
def test_server_error_is_a_failed_call(
    agency_server: Callable[..., RunningAgency],
    code: str,
    adapter_for: Callable[..., AgencyAdapter],
) -> None:
    adapter, _ = live_adapter(agency_server, adapter_for, code, error_rate=1.0)
    expected = "SOAP Fault soap:Server" if code in SOAP_CODES else "HTTP 500"
    with pytest.raises(AgencyCallFailed, match=expected) as failed:
        adapter.send(AgencyRequest("c", "a", granted(code)))
    assert failed.value.status_code == 500 and failed.value.answer_bytes


@pytest.mark.parametrize("code", CODES)
def test_slow_agency_times_out(
    agency_server: Callable[..., RunningAgency],
    code: str,
    adapter_for: Callable[..., AgencyAdapter],
) -> None:
    adapter, _ = live_adapter(agency_server, adapter_for, code, timeout_s=0.1, latency_s=0.4)
    with pytest.raises(AgencyCallFailed, match="Timeout"):
        adapter.send(AgencyRequest("c", "a", granted(code)))


@pytest.mark.parametrize("code", CODES)
def test_stopped_agency_is_a_failed_call(
    agency_server: Callable[..., RunningAgency],
    code: str,
    adapter_for: Callable[..., AgencyAdapter],
) -> None:
    adapter, agency = live_adapter(agency_server, adapter_for, code)
    agency.stop()
    with pytest.raises(AgencyCallFailed, match="ConnectionError") as failed:
        adapter.send(AgencyRequest("c", "a", granted(code)))
    assert failed.value.request_bytes and failed.value.status_code is None


XXE = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&e;</s:Body>'
    b"</s:Envelope>"
)
GARBAGE = {
    # name: (status, content type, body, message expected)
    "html page": (200, "text/html", b"<html><body>oops", "not acceptable XML|not application/json"),
    "html 500": (500, "text/html", b"<html>Internal Server Error</html>", "500"),
    "truncated json": (
        200,
        "application/json",
        b'{"caseId": "c", "sta',
        "not believed|not acceptable",
    ),
    "json array": (200, "application/json", b"[]", "not believed|not acceptable XML"),
    "doctype": (200, "text/xml", XXE, "DOCTYPE|not application/json"),
    "redirect": (302, "text/plain", b"", "302"),
}


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("case", GARBAGE)
def test_garbage_answers_are_failed_calls(
    fake_agency: Callable[[Reply], FakeAgency],
    code: str,
    case: str,
    adapter_for: Callable[..., AgencyAdapter],
) -> None:
    status, content_type, body, message = GARBAGE[case]
    headers = {"Content-Type": content_type}
    if status == 302:
        headers["Location"] = "http://127.0.0.1:9/elsewhere"
    fake = fake_agency(lambda _: (status, headers, body))
    adapter = adapter_for(code, fake.url)
    with pytest.raises(AgencyCallFailed, match=message) as failed:
        adapter.send(AgencyRequest("c", "a", granted(code)))
    # Kept whole for the trail: the exact bytes received and sent, with their signature fields.
    assert body_of(failed.value.answer_bytes) == body
    assert body_of(failed.value.request_bytes) == fake.requests[0][1]


@pytest.mark.parametrize("code", ["customs", "transport"])  # one SOAP, one REST agency
def test_an_answer_over_the_size_limit_is_refused_unread(
    fake_agency: Callable[[Reply], FakeAgency],
    code: str,
    adapter_for: Callable[..., AgencyAdapter],
) -> None:
    # Read up to the limit (REST 1 MiB, SOAP the XML parser's 5 MiB) and no further: the answer
    # is refused as too large, and what was read is kept for the trail.
    huge = b" " * (6 * 1024 * 1024)
    content_type = "text/xml" if code in SOAP_CODES else "application/json"
    fake = fake_agency(lambda _: (200, {"Content-Type": content_type}, huge))
    with pytest.raises(AgencyCallFailed, match=r"more than [0-9]+ bytes") as failed:
        adapter_for(code, fake.url).send(AgencyRequest("c", "a", granted(code)))
    assert 0 < len(body_of(failed.value.answer_bytes)) < len(huge)


@pytest.mark.parametrize("code", CODES)
def test_answer_for_another_case_is_refused(
    agency_server: Callable[..., RunningAgency],
    fake_agency: Callable[[Reply], FakeAgency],
    code: str,
    adapter_for: Callable[..., AgencyAdapter],
    pki: DevPki,
) -> None:
    # Signed by the right agency, but for another case: believed as signed, refused as an answer.
    adapter, _ = live_adapter(agency_server, adapter_for, code)
    other = adapter.send(AgencyRequest("case-other", "a", granted(code)))
    fake = fake_agency(
        lambda request: (200, *agency_reply(pki, code, body_of(other.answer_bytes), request))
    )
    with pytest.raises(AgencyCallFailed, match="is for case 'case-other'"):
        adapter_for(code, fake.url).send(AgencyRequest("case-mine", "a", granted(code)))


def test_soap_answer_breaking_the_schema_is_refused(
    agency_server: Callable[..., RunningAgency],
    fake_agency: Callable[[Reply], FakeAgency],
    adapter_for: Callable[..., AgencyAdapter],
    pki: DevPki,
) -> None:
    # Properly signed by customs, but not what its contract allows.
    adapter, _ = live_adapter(agency_server, adapter_for, "customs")
    genuine = adapter.send(AgencyRequest("c", "a", sample("fresh-apples-import")))

    def bent(request: bytes) -> bytes:
        edit = lambda b: b.replace(b">granted<", b">maybe<")  # noqa: E731
        return resigned_soap(pki, "customs", genuine.answer_bytes, edit, request)

    fake = fake_agency(lambda request: (200, {"Content-Type": "text/xml"}, bent(request)))
    with pytest.raises(AgencyCallFailed, match="breaks the agency schema"):
        adapter_for("customs", fake.url).send(
            AgencyRequest("c", "a", sample("fresh-apples-import"))
        )


def test_unknown_protocol_and_missing_endpoint(
    tmp_path: Path, adapter_for: Callable[..., AgencyAdapter], pki: DevPki
) -> None:
    spec = agency_spec("health", "")
    with pytest.raises(AgencyCallFailed, match="no endpoint"):
        build_adapter(spec, credentials(pki, "health")).send(
            AgencyRequest("c", "a", sample("fresh-apples-import"))
        )
    with pytest.raises(AgencyCallFailed, match="no endpoint"):
        adapter_for("customs", "").send(AgencyRequest("c", "a", sample("fresh-apples-import")))
    from dataclasses import replace

    with pytest.raises(ValueError, match="unknown protocol 'ftp'"):
        build_adapter(replace(spec, protocol="ftp"), credentials(pki, "health"))


# ----- agency rules, through the adapters -----


def replace_text(old: str, new: str):  # type: ignore[no-untyped-def]
    return lambda raw: raw.replace(old.encode(), new.encode())


@pytest.mark.parametrize(
    ("code", "name", "edit", "outcome", "detail"),
    [
        (
            "customs",
            "overweight-machinery-transit",
            replace_text("8431490000", "9303201000"),
            Outcome.INSPECTION,
            "physical inspection at KZ-NURZHOLY: line 1: arms and ammunition",
        ),
        (
            "customs",
            "fresh-apples-import",
            replace_text("15840.00", "990.00"),
            Outcome.INSPECTION,
            "implausibly low",
        ),
        (
            "customs",
            "fresh-apples-import",
            replace_text("15840.00", "3960.00"),
            Outcome.GRANTED,
            "document check at KZ-NURZHOLY",
        ),
        (
            "customs",
            "fresh-apples-import",
            replace_text("<Type>invoice<", "<Type>contract<"),
            Outcome.REFUSED,
            "CUS-INVOICE-MISSING",
        ),
        (
            "phytosanitary",
            "fresh-apples-import",
            replace_text("<Type>phytosanitary-certificate<", "<Type>other<"),
            Outcome.REFUSED,
            "PHYTO-CERT-MISSING",
        ),
        (
            "veterinary",
            "live-cattle-import",
            replace_text("<OriginCountry>IN<", "<OriginCountry>NL<"),
            Outcome.GRANTED,
            "veterinary control post at KZ-ZHIBEKZHOLY",
        ),
        (
            "veterinary",
            "live-cattle-import",
            lambda raw: raw.replace(b"<OriginCountry>IN<", b"<OriginCountry>NL<").replace(
                b"<Type>veterinary-certificate<", b"<Type>other<"
            ),
            Outcome.REFUSED,
            "VET-CERT-MISSING",
        ),
        (
            "transport",
            "fresh-apples-import",
            replace_text(
                "<Country>KZ</Country>\n      <Address>7 Dostyk",
                "<Country>CN</Country>\n      <Address>7 Dostyk",
            ),
            Outcome.GRANTED,
            "foreign-carrier permit required",
        ),
        (
            "health",
            "fresh-apples-import",
            replace_text("0808108000", "3004900009"),
            Outcome.REFUSED,
            "HEALTH-REGISTRATION-MISSING",
        ),
    ],
)
def test_agency_rules(agency_server, code, name, edit, outcome, detail, adapter_for) -> None:  # type: ignore[no-untyped-def]
    adapter, _ = live_adapter(agency_server, adapter_for, code)
    answer = adapter.send(AgencyRequest("c", "a", sample(name, edit)))
    assert answer.outcome is outcome
    said = [*answer.conditions, answer.inspection or "", *(r.code for r in answer.reasons)]
    assert any(detail in text for text in said), said


# ----- an answer is bound to the request it answers -----


@pytest.mark.parametrize("code", CODES)
def test_an_answer_made_for_an_earlier_request_is_not_believed(
    agency_server: Callable[..., RunningAgency],
    code: str,
    adapter_for: Callable[..., AgencyAdapter],
) -> None:
    # The agency plays back its first, genuine and still fresh answer for the case: RFC 9421 ";req"
    # components (REST) or WSS 1.1 SignatureConfirmation (SOAP) bind it to the first request only.
    adapter, _ = live_adapter(agency_server, adapter_for, code, tamper="replay")
    request = AgencyRequest("case-1", "app-1", granted(code))
    first = adapter.send(request)
    with pytest.raises(AgencyAnswerUntrusted, match="not believed") as refused:
        adapter.send(request)
    assert refused.value.answer_bytes == first.answer_bytes


@pytest.mark.parametrize("code", SOAP_CODES)
def test_soap_answer_without_a_signed_confirmation_is_not_believed(
    agency_server: Callable[..., RunningAgency],
    fake_agency: Callable[[Reply], FakeAgency],
    code: str,
    adapter_for: Callable[..., AgencyAdapter],
    pki: DevPki,
) -> None:
    # Signed by the agency, fresh, for the right case, but confirming no request (or not signed).
    adapter, _ = live_adapter(agency_server, adapter_for, code)
    genuine = adapter.send(AgencyRequest("c", "a", granted(code)))
    keys = AgencyKeys.load(code, pki.directory)

    def unconfirmed(request: bytes) -> bytes:
        root = etree.fromstring(
            resigned_soap(pki, code, genuine.answer_bytes, lambda b: b, request)
        )
        header = root.find(f"{{{wsse.SOAP11}}}Header")
        assert header is not None
        root.remove(header)
        return bytes(etree.tostring(wsse.sign(root, keys.key, keys.cert)))

    def unsigned_confirmation(request: bytes) -> bytes:
        root = etree.fromstring(unconfirmed(request))
        security = root.find(f"{{{wsse.SOAP11}}}Header/{{{wsse.WSSE}}}Security")
        assert security is not None
        confirmation = etree.SubElement(security, f"{{{wsse.WSSE11}}}SignatureConfirmation")
        confirmation.set("Value", wsse.signature_value(etree.fromstring(request)))
        return bytes(etree.tostring(root))

    for answer, reason in (
        (unconfirmed, "found 0"),
        (unsigned_confirmation, "not among the signed references"),
    ):

        def reply(
            request: Received, a: Callable[[bytes], bytes] = answer
        ) -> tuple[int, dict[str, str], bytes]:
            return 200, {"Content-Type": "text/xml"}, a(request)

        fake = fake_agency(reply)
        with pytest.raises(AgencyAnswerUntrusted, match=reason):
            adapter_for(code, fake.url).send(AgencyRequest("c", "a", granted(code)))


@pytest.mark.parametrize("code", REST_CODES)
def test_rest_answer_not_signed_over_the_request_is_not_believed(
    agency_server: Callable[..., RunningAgency],
    fake_agency: Callable[[Reply], FakeAgency],
    code: str,
    adapter_for: Callable[..., AgencyAdapter],
    pki: DevPki,
) -> None:
    # Signed by the agency over its own status, type and digest only (the profile before ";req").
    adapter, _ = live_adapter(agency_server, adapter_for, code)
    genuine = adapter.send(AgencyRequest("c", "a", granted(code)))
    keys = AgencyKeys.load(code, pki.directory)
    message = Message({"Content-Type": "application/json"}, status_code=200)
    sign_http(message, genuine.answer_bytes, keys.key, keys.cert, RESPONSE_COMPONENTS[:3])
    fake = fake_agency(lambda _: (200, message.headers, genuine.answer_bytes))
    with pytest.raises(AgencyAnswerUntrusted, match="Required component"):
        adapter_for(code, fake.url).send(AgencyRequest("c", "a", granted(code)))


@pytest.mark.parametrize("code", ["customs", "phytosanitary"])
def test_soap_request_breaking_the_agency_schema_is_never_sent(
    fake_agency: Callable[[Reply], FakeAgency], adapter_for: Callable[..., AgencyAdapter], code: str
) -> None:
    # The mapped request is wrapped and signed as it is (zeep no longer re-renders it from typed
    # values), so the agency XSD is what keeps a value outside the contract off the wire.
    posted: list[bytes] = []

    def record(request: bytes) -> tuple[int, dict[str, str], bytes]:
        posted.append(request)
        return 500, {"Content-Type": "text/xml"}, b""

    fake = fake_agency(record)
    with pytest.raises(AgencyCallFailed, match=r"cannot map the application: .*agency schema"):
        adapter_for(code, fake.url).send(
            AgencyRequest("not a key!", "a", sample("fresh-apples-import"))
        )
    assert posted == []


@pytest.mark.parametrize("code", ["customs", "transport"])  # one SOAP, one REST agency
def test_a_proxy_named_by_the_environment_carries_the_call(
    fake_agency: Callable[[Reply], FakeAgency],
    adapter_for: Callable[..., AgencyAdapter],
    monkeypatch: pytest.MonkeyPatch,
    code: str,
) -> None:
    # The adapters read the environment's proxy settings once per endpoint, not per call
    # (adapters/environment.py): a proxy set for the process must still carry every call.
    proxy = fake_agency(lambda _: (503, {"Content-Type": "text/plain"}, b"proxy says no"))
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("http_proxy", proxy.url)
    # Nothing listens at the agency's address: only the proxy can have answered.
    adapter = adapter_for(code, "http://agency.invalid:9/agency")
    for attempt in range(2):
        with pytest.raises(AgencyCallFailed, match="503"):
            adapter.send(AgencyRequest(f"case-{attempt}", "a", granted(code)))
    assert len(proxy.requests) == 2
