"""Agency faults seen from the whole gateway: a connection reset in the middle of an answer, SOAP
Faults, malformed answers, answers signed by the wrong key or played back from an earlier request,
and a callback that overtakes a broken synchronous answer. Each ends in the right case state with
nothing lost and nothing duplicated: one decision, one case per agency, one permit per case (the
agency issued it once for the case id), and every failed attempt's bytes in the trail or named in
the case's last error.

The faults are the simulators' own (simulators/common.py `SimulatorOptions.fault` and `tamper`),
made over real sockets; `error_rate` makes a SOAP agency answer a soap:Server Fault.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from gateway.bootstrap import Services
from simulators.server import RunningAgency
from tests.gateway_fixtures import KeyringClient
from tests.polling import wait_until
from wire.exchange import body_of

OPERATOR = "test-operator-token"
AUDITOR = "test-audit-token"
DEC = "{urn:kz:nsw:decision:1}"
FIRST_PERMIT = re.compile(r"^KZ-[A-Z]{3}-\d{8}-000001$")  # each fresh simulator counts from 1
NO_FAULT = {"fault": None, "tamper": None, "error_rate": 0.0}


def fast(agencies: dict[str, str], code: str, url: str, **config: Any) -> dict[str, Any]:
    """Gateway settings: `code` at `url`, quick retries, a breaker that never opens (these tests
    watch the retries themselves), operator and auditor tokens."""
    return {
        "agency_urls": {**agencies, code: url},
        "retry_base_s": 0.05,
        "breaker_failures": 1000,
        "operator_tokens": (OPERATOR,),
        "audit_tokens": (AUDITOR,),
        **config,
    }


def case_of(client: Any, application_id: str, agency: str) -> dict[str, Any]:
    return next(c for c in client.status(application_id)["cases"] if c["agency"] == agency)


def trail(services: Any, application_id: str, case_id: str, kind: str) -> list[Any]:
    """The stored messages of one case and kind, in the order they were written."""
    return [
        m
        for m in services.store.messages(application_id)
        if m.case_id == case_id and m.kind == kind
    ]


def switch_off(agency: Any) -> None:
    for name, value in NO_FAULT.items():
        setattr(agency.options, name, value)


def assert_decided_once(client: Any, services: Any, application_id: str) -> etree._Element:
    """One decision, one case per agency, one permit per granted case and the same permit in the
    decision as in the status; returns the decision."""
    status = client.status(application_id)
    assert status["status"] == "decided"
    cases = {c["agency"]: c for c in status["cases"]}
    assert len(cases) == len(status["cases"]) == len({c["id"] for c in status["cases"]})
    decision = etree.fromstring(client.decision(application_id))
    listed = decision.findall(f"{DEC}Cases/{DEC}Case")
    assert sorted(c.get("agency") for c in listed) == sorted(cases)
    for case in listed:
        permits = [p.get("number") for p in case.findall(f"{DEC}Permit")]
        expected = [cases[case.get("agency")]["permit_number"]]
        assert permits == (expected if case.get("outcome") == "granted" else [])
    kinds = [m.kind for m in services.store.messages(application_id)]
    assert kinds.count("decision") == 1
    assert services.store.count_open_outbox() == 0
    return decision


def answer_cited(decision: etree._Element, agency: str) -> str:
    case = next(c for c in decision.findall(f"{DEC}Cases/{DEC}Case") if c.get("agency") == agency)
    return case.findtext(f"{DEC}AnswerSHA256") or ""


# ----- a fault that stops: retried, then decided once -----


def holding(marker: bytes) -> Callable[[bytes], bool]:
    return lambda body: marker in body


def broken_off(body: bytes) -> bool:
    return body.startswith(b"<?xml") and b"</soap:Envelope>" not in body


# requests raises ChunkedEncodingError only while reading a body: the status line and headers
# arrived, then the rest of the body was cut off by the RST.
CONNECTION_RESET = (
    r"the connection broke before the whole answer arrived \(ChunkedEncodingError: "
    r".*Connection reset by peer"
)
TRANSIENT = [
    # agency, simulator options, the case's last error while it lasts, what tells a failed answer
    # kept in the trail (None: no complete answer ever arrived, only the requests are kept)
    pytest.param("customs", {"fault": "reset"}, CONNECTION_RESET, None, id="soap-reset"),
    pytest.param("health", {"fault": "reset"}, CONNECTION_RESET, None, id="rest-reset"),
    pytest.param(
        "phytosanitary",
        {"error_rate": 1.0},
        r"HTTP 500: SOAP Fault soap:Server: simulated internal error; retry later",
        holding(b"<faultcode>soap:Server</faultcode>"),
        id="soap-server-fault",
    ),
    pytest.param(
        "customs",
        {"fault": "garbage"},
        r"HTTP 200: the answer is not acceptable XML: The document is not well-formed XML",
        holding(b"Internal error: the registry did not answer\n"),
        id="soap-not-xml",
    ),
    pytest.param(
        "phytosanitary",
        {"fault": "truncated"},
        r"HTTP 200: the answer is not acceptable XML: The document is not well-formed XML",
        broken_off,
        id="soap-truncated-xml",
    ),
    pytest.param(
        "customs",
        {"fault": "off-contract"},
        r"HTTP 200: the answer breaks the agency schema: .*'approved'",
        holding(b">approved<"),
        id="soap-off-contract",
    ),
    pytest.param(
        "transport",
        {"fault": "garbage"},
        r"malformed answer: Expecting value",
        holding(b"<html><body>Internal error"),
        id="rest-not-json",
    ),
    pytest.param(
        "health",
        {"fault": "off-contract"},
        r"malformed answer: unknown status 'approved'",
        holding(b'"status": "approved"'),
        id="rest-off-contract",
    ),
]


@pytest.mark.parametrize(("code", "options", "error", "kept"), TRANSIENT)
def test_fault_is_retried_and_the_case_decides_once_it_stops(  # type: ignore[no-untyped-def]
    gateway, agencies, own_agency, signed_sample, code, options, error, kept
) -> None:
    agency = own_agency(code, **options)
    gw = gateway(**fast(agencies, code, agency.url, max_attempts=100))
    application_id = gw.client.submit(signed_sample("fresh-apples-import"))["id"]

    failing = wait_until(
        lambda: (c := case_of(gw.client, application_id, code))["attempts"] >= 2 and c,
        what=f"two failed tries at {code}",
    )
    assert failing["state"] == "queued" and failing["permit_number"] is None
    assert re.search(f"^{code}: {error}", failing["last_error"]), failing["last_error"]
    assert gw.client.decision(application_id) is None

    switch_off(agency)
    xml = gw.client.wait_for_decision(application_id, deadline_s=30)
    assert b"<Outcome>granted</Outcome>" in xml
    decision = assert_decided_once(gw.client, gw.services, application_id)
    case = case_of(gw.client, application_id, code)
    assert case["state"] == "granted" and case["last_error"] is None
    assert FIRST_PERMIT.match(case["permit_number"]), case["permit_number"]

    # Every try is in the trail: each request, each failed answer byte-exact, then the believed
    # answer, which is the one the decision cites.
    requests = trail(gw.services, application_id, case["id"], "agency-request")
    answers = trail(gw.services, application_id, case["id"], "agency-answer")
    assert len(requests) == case["attempts"] >= 3
    if kept is None:
        assert len(answers) == 1
    else:
        assert len(answers) == len(requests)
        assert all(kept(body_of(a.body)) for a in answers[:-1])
        assert not kept(body_of(answers[-1].body))
    assert answer_cited(decision, code) == hashlib.sha256(answers[-1].body).hexdigest()


# ----- a fault that lasts: escalated with its reason, then sent again by an operator -----

LASTING = [
    # agency, simulator options, the escalated case's last error, what each failed answer holds
    pytest.param(
        "customs",
        {"error_rate": 1.0},
        r"HTTP 500: SOAP Fault soap:Server: simulated internal error; retry later",
        b"<faultcode>soap:Server</faultcode>",
        id="soap-server-fault",
    ),
    pytest.param(
        "customs",
        {"tamper": "other-agency"},
        r"security failure: the answer is not believed: .*certificate other than the pinned one",
        b"ReleaseNumber>KZ-CUS-",
        id="soap-signed-by-another-agency",
    ),
    pytest.param(
        "health",
        {"tamper": "other-agency"},
        r"security failure: the answer is not believed: the HTTP message signature does not",
        b'"permitNumber":"KZ-SEC-',
        id="rest-signed-by-another-agency",
    ),
    pytest.param(
        "transport",
        {"tamper": "wrong-key"},
        r"security failure: the answer is not believed: the HTTP message signature does not",
        b'"permitNumber":"KZ-TRN-',
        id="rest-signed-with-a-key-not-its-certificate",
    ),
]


@pytest.mark.parametrize(("code", "options", "error", "marker"), LASTING)
def test_lasting_fault_is_escalated_then_an_operator_retry_decides_once(  # type: ignore[no-untyped-def]
    gateway, agencies, own_agency, signed_sample, code, options, error, marker
) -> None:
    agency = own_agency(code, **options)
    gw = gateway(**fast(agencies, code, agency.url, max_attempts=3))
    application_id = gw.client.submit(signed_sample("fresh-apples-import"))["id"]

    case = wait_until(
        lambda: (c := case_of(gw.client, application_id, code))["state"] == "escalated" and c,
        what=f"{code} escalated",
    )
    assert case["attempts"] == 3 and case["permit_number"] is None
    assert re.search(f"^{code}: {error}", case["last_error"]), case["last_error"]
    assert gw.client.status(application_id)["status"] == "in_progress"
    assert gw.client.decision(application_id) is None
    ops = {"Authorization": f"Bearer {OPERATOR}"}
    escalated = gw.client.session.get(
        f"{gw.url}/api/v1/operations/cases", params={"state": "escalated"}, headers=ops
    ).json()
    assert [c["id"] for c in escalated] == [case["id"]]

    # Each failed answer is kept byte-exact and is in the Merkle log an auditor reads.
    answers = trail(gw.services, application_id, case["id"], "agency-answer")
    assert len(answers) == len(trail(gw.services, application_id, case["id"], "agency-request"))
    assert len(answers) == 3 and all(marker in body_of(a.body) for a in answers)
    entries = gw.client.session.get(
        f"{gw.url}/api/v1/audit/applications/{application_id}/entries",
        headers={"Authorization": f"Bearer {AUDITOR}"},
    ).json()
    logged = {e["sha256"] for e in entries if e["kind"] == "agency-answer"}
    assert {hashlib.sha256(a.body).hexdigest() for a in answers} <= logged

    switch_off(agency)
    retried = gw.client.session.post(
        f"{gw.url}/api/v1/operations/cases/{case['id']}/retry", headers=ops
    )
    assert retried.status_code == 200
    xml = gw.client.wait_for_decision(application_id, deadline_s=30)
    assert b"<Outcome>granted</Outcome>" in xml
    assert_decided_once(gw.client, gw.services, application_id)
    granted = case_of(gw.client, application_id, code)
    assert granted["state"] == "granted" and granted["last_error"] is None
    assert FIRST_PERMIT.match(granted["permit_number"]), granted["permit_number"]
    if options.get("tamper"):  # the answers not believed carried this very permit: issued once
        assert all(granted["permit_number"].encode() in body_of(a.body) for a in answers)


# ----- a callback that overtakes a synchronous answer which then breaks -----


@pytest.mark.parametrize("code", ["customs", "transport"])
def test_callback_then_a_reset_answer_settles_the_case_once(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
    code: str,
) -> None:
    # The agency calls back with its final answer, then its synchronous "pending" answer breaks
    # off mid-body. The case stays as the callback settled it: not retried, not escalated.
    agency = own_agency(code, answer_later=True, callback_first=True, fault="reset")
    _, services, client = gateway_at(agency_urls={code: agency.url}, retry_base_s=0.05)
    application_id = client.submit(signed_sample("fresh-apples-import"))["id"]

    xml = client.wait_for_decision(application_id, deadline_s=30)
    assert b"<Outcome>granted</Outcome>" in xml
    case = case_of(client, application_id, code)
    wait_until(
        lambda: trail(services, application_id, case["id"], "agency-request"),
        what="the broken call's request kept",
    )
    wait_until(lambda: services.store.count_open_outbox() == 0, what="every delivery closed")
    decision = assert_decided_once(client, services, application_id)
    case = case_of(client, application_id, code)
    assert case["state"] == "granted" and case["last_error"] is None
    assert FIRST_PERMIT.match(case["permit_number"]), case["permit_number"]
    # The stand-in records its callback once the gateway's answer is back, a moment after the
    # gateway has committed what the callback brought.
    (delivery,) = wait_until(lambda: agency.callbacks.sent, what="the callback recorded")
    assert delivery.status == 200
    (callback,) = trail(services, application_id, case["id"], "callback")
    # A REST callback is kept whole (wire.exchange record); its body holds the answer.
    assert case["permit_number"].encode() in body_of(callback.body)
    assert answer_cited(decision, code) == hashlib.sha256(callback.body).hexdigest()
    assert len(trail(services, application_id, case["id"], "agency-request")) == 1
    assert trail(services, application_id, case["id"], "agency-answer") == []


# ----- the agency refuses the request itself: escalated at once, the breaker untouched -----

REFUSED = [
    pytest.param(
        "phytosanitary",
        r"HTTP 500: SOAP Fault soap:Client: simulated business fault: phytosanitary refuses case",
        b"<faultcode>soap:Client</faultcode>",
        id="soap-client-fault",
    ),
    pytest.param(
        "health",
        r"HTTP 422 UNPROCESSABLE ENTITY: Unprocessable Content: simulated business fault: health ",
        b"simulated business fault",
        id="rest-422",
    ),
]


@pytest.mark.parametrize(("code", "error", "marker"), REFUSED)
def test_a_request_the_agency_refuses_is_escalated_at_once_not_retried(  # type: ignore[no-untyped-def]
    gateway, agencies, own_agency, signed_sample, code, error, marker
) -> None:
    agency = own_agency(code, fault="client-fault")
    gw = gateway(**fast(agencies, code, agency.url, max_attempts=5, breaker_failures=1))
    application_id = gw.client.submit(signed_sample("fresh-apples-import"))["id"]

    case = wait_until(
        lambda: (c := case_of(gw.client, application_id, code))["state"] == "escalated" and c,
        what=f"{code} escalated",
    )
    assert case["attempts"] == 1
    assert re.search(f"^{code}: {error}", case["last_error"]), case["last_error"]
    assert case["last_error"].endswith("sending it again cannot help")
    [answer] = trail(gw.services, application_id, case["id"], "agency-answer")
    assert marker in body_of(answer.body)
    # The agency answered: its breaker stays closed (one failure would have opened it).
    ops = {"Authorization": f"Bearer {OPERATOR}"}
    health = gw.client.session.get(f"{gw.url}/api/v1/operations/agencies", headers=ops).json()
    assert health[code]["breaker"]["state"] == "closed"

    switch_off(agency)
    assert gw.client.session.post(
        f"{gw.url}/api/v1/operations/cases/{case['id']}/retry", headers=ops
    ).ok
    assert b"<Outcome>granted</Outcome>" in gw.client.wait_for_decision(application_id, 30)
    assert_decided_once(gw.client, gw.services, application_id)


# ----- an answer played back for a later request of the same case: never believed -----


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("customs", r"the answer confirms another request's signature"),
        ("health", r"the HTTP message signature does not verify"),
    ],
)
def test_an_answer_replayed_for_a_retry_is_not_believed(  # type: ignore[no-untyped-def]
    gateway, agencies, own_agency, signed_sample, code, error
) -> None:
    # The first answer is genuine but off-contract, so the case is retried; the agency then plays
    # that first answer back, byte for byte, while still fresh. It is bound to the first request
    # (SignatureConfirmation / RFC 9421 ";req"), so each retry is refused, and the case escalates.
    agency = own_agency(code, fault="off-contract", tamper="replay")
    gw = gateway(**fast(agencies, code, agency.url, max_attempts=3))
    application_id = gw.client.submit(signed_sample("fresh-apples-import"))["id"]

    case = wait_until(
        lambda: (c := case_of(gw.client, application_id, code))["state"] == "escalated" and c,
        what=f"{code} escalated",
    )
    assert re.search(
        f"^{code}: security failure: the answer is not believed: {error}", case["last_error"]
    ), case["last_error"]
    first, *replayed = [
        body_of(a.body) for a in trail(gw.services, application_id, case["id"], "agency-answer")
    ]
    assert len(replayed) == 2 and all(r == first for r in replayed)
    assert b"approved" in first

    switch_off(agency)
    ops = {"Authorization": f"Bearer {OPERATOR}"}
    retried = gw.client.session.post(
        f"{gw.url}/api/v1/operations/cases/{case['id']}/retry", headers=ops
    )
    assert retried.status_code == 200
    gw.client.wait_for_decision(application_id, deadline_s=30)
    assert_decided_once(gw.client, gw.services, application_id)
