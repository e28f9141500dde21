"""Officers' actions: confirmation first, then the change and a trail entry naming the officer —
retrying a case, recording an inspection result, clearing a vehicle by hand, acknowledging an
alert."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.clock import system_clock
from gateway.decision.document import NS as DECISION_NS
from gateway.pki.dev import DevPki
from gateway.storage.models import MessageRow
from gateway.storage.outbox import OutboxStore
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped
from tests.omc.conftest import OPERATOR_TOKEN, csrf
from tests.omc.trucks import OmcFloor, held_at_weighbridge, in_transit_with_alert, without_notice

DECISION = f"{{{DECISION_NS}}}"


def test_retry_asks_for_confirmation_then_queues_the_case_and_records_the_officer(
    escalated: tuple[str, str], omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    app_id, case_id = escalated
    operator = client_as("op")
    token = csrf(operator, f"/omc/applications/{app_id}")
    asked = operator.post(f"/omc/actions/retry/{case_id}", data={"csrf_token": token})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.get_data(as_text=True)
    store = omc_app.extensions["nsw"].store
    assert next(c for c in store.application(app_id).cases if c.id == case_id).state == "escalated"

    done = operator.post(
        f"/omc/actions/retry/{case_id}",
        data={"csrf_token": token, "confirm": "yes", "next": f"/omc/applications/{app_id}"},
    )
    assert done.status_code == 302 and done.headers["Location"] == f"/omc/applications/{app_id}"
    assert next(c for c in store.application(app_id).cases if c.id == case_id).state == "queued"
    with store.transaction() as s:
        row = s.scalars(select(MessageRow).where(MessageRow.kind == "officer-action")).one()
        body, counterpart, row_case = json.loads(row.body), row.counterpart, row.case_id
    assert counterpart == "officer:op" and row_case == case_id
    assert body["action"] == "retry-case" and body["officer"] == "op" and body["role"] == "operator"
    bundle = omc_app.extensions["nsw"].auditor.bundle(app_id)
    assert any(
        b"officer-action" in __import__("base64").b64decode(e["entry"]) for e in bundle["entries"]
    )


def test_an_agency_officer_retries_its_own_agencys_case(
    escalated: tuple[str, str], omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    app_id, case_id = escalated
    customs = client_as("cus")
    token = csrf(customs, "/omc/agencies")
    done = customs.post(
        f"/omc/actions/retry/{case_id}", data={"csrf_token": token, "confirm": "yes"}
    )
    assert done.status_code == 302
    cases = omc_app.extensions["nsw"].store.application(app_id).cases
    assert next(c for c in cases if c.id == case_id).state == "queued"


def test_a_case_that_is_not_escalated_is_not_retried(
    escalated: tuple[str, str], client_as: Callable[[str], FlaskClient]
) -> None:
    _, case_id = escalated
    operator = client_as("op")
    token = csrf(operator, "/omc/agencies")
    assert (
        operator.post(
            f"/omc/actions/retry/{case_id}", data={"csrf_token": token, "confirm": "yes"}
        ).status_code
        == 302
    )
    again = operator.post(
        f"/omc/actions/retry/{case_id}", data={"csrf_token": token, "confirm": "yes"}
    )
    assert again.status_code == 409


def test_trail_entries_link_to_a_verified_inclusion_proof(
    escalated: tuple[str, str], omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    app_id, _ = escalated
    omc_app.extensions["nsw"].auditor.issue_tree_head()
    auditor = client_as("aud")
    page = auditor.get(f"/omc/applications/{app_id}").get_data(as_text=True)
    assert "evidence bundle" in page
    seq = re.search(r'href="/omc/trail/(\d+)"', page).group(1)  # type: ignore[union-attr]
    entry = auditor.get(f"/omc/trail/{seq}").get_data(as_text=True)
    assert "Verified" in entry
    bundle = auditor.get(f"/omc/audit/bundles/{app_id}.json")
    assert bundle.status_code == 200 and bundle.get_json()["entries"]


# --- at the checkpoint and in transit --------------------------------------------------------------


def _trail(store: OutboxStore, kind: str) -> list[tuple[str | None, str, bytes]]:
    """(application id, counterpart, body) of every trail message of `kind`, in order."""
    with store.transaction() as s:
        rows = s.scalars(select(MessageRow).where(MessageRow.kind == kind).order_by(MessageRow.id))
        return [(r.application_id, r.counterpart, r.body) for r in rows]


def test_an_inspection_result_settles_the_held_case_and_the_decision_is_signed_again(
    omc_floor: OmcFloor, pki: DevPki
) -> None:
    app_id, visit = held_at_weighbridge(omc_floor)
    store = omc_floor.cp.services.store
    inspector = omc_floor.client_as("trn")  # the transport control officer: the findings are theirs
    floor = inspector.get("/omc/checkpoints").get_data(as_text=True)
    for finding in ("F1", "F2"):
        assert f'action="/omc/actions/inspection/{visit}/{finding}"' in floor
    token = csrf(inspector, "/omc/checkpoints")
    note = "reweighed on static scales: within the special permit"
    form = {"csrf_token": token, "result": "cleared", "note": note, "next": "/omc/checkpoints"}

    asked = inspector.post(f"/omc/actions/inspection/{visit}/F1", data=form)
    assert asked.status_code == 200
    assert 'name="confirm" value="yes"' in asked.get_data(as_text=True)
    assert f"Record finding F1 of visit {visit} as cleared" in asked.get_data(as_text=True)
    assert _case(store, app_id, "transport")["state"] == "inspection"  # nothing before confirmation
    phy = omc_floor.client_as("phy")  # another agency's officer may not record it
    refused = phy.post(f"/omc/actions/inspection/{visit}/F1", data=form | {"confirm": "yes",
                       "csrf_token": csrf(phy, "/omc/checkpoints")})  # fmt: skip
    assert refused.status_code == 403

    for finding in ("F1", "F2"):
        done = inspector.post(f"/omc/actions/inspection/{visit}/{finding}",
                              data=form | {"confirm": "yes"})  # fmt: skip
        assert done.status_code == 302 and done.headers["Location"] == "/omc/checkpoints"
    page = inspector.get(f"/omc/applications/{app_id}").get_data(as_text=True)
    assert re.search(r'<span class="verdict released">released</span>', page)
    assert re.search(
        rf'data-case="{app_id}-transport">\s*<td>transport</td><td><span class="pill granted">',
        page,
    )
    # The decision is composed again, signed by the gateway, and names the inspector and result.
    xml = inspector.get(f"/omc/applications/{app_id}/decision.xml").get_data()
    trust = TrustStore.from_directory(pki.directory, system_clock)
    verified = verify_enveloped(parse_xml(xml), trust, now=system_clock())
    assert "NSW Gateway" in verified.signer.subject
    assert verified.signed.findtext(f"{DECISION}Outcome") == "released"
    transport = verified.signed.find(f"{DECISION}Cases/{DECISION}Case[@agency='transport']")
    assert transport is not None and transport.get("outcome") == "granted"
    assert f"Inspected by trn (agency-officer, transport): {note}" in [
        c.text for c in transport.iter(f"{DECISION}Condition")
    ]
    # Both results are in the trail under the inspector's name, role and agency.
    results = _trail(store, "inspection-result")
    assert [(a, who) for a, who, _ in results] == [
        (app_id, "officer:trn (agency-officer, transport)")
    ] * 2
    assert json.loads(results[0][2]) == {
        "officer": "trn (agency-officer, transport)", "cleared": True, "note": note,
    }  # fmt: skip


def test_a_vehicle_is_cleared_by_hand_and_leaves_with_the_officers_name(
    omc_floor: OmcFloor,
) -> None:
    visit = without_notice(omc_floor)
    operator = omc_floor.client_as("op")
    floor = operator.get("/omc/checkpoints").get_data(as_text=True)
    assert f'data-visit="{visit}"' in floor and f'data-exited="{visit}"' not in floor
    token = csrf(operator, "/omc/checkpoints")
    form = {"csrf_token": token, "reason": "declared at the border", "next": "/omc/checkpoints"}
    asked = operator.post(f"/omc/actions/clear/{visit}", data=form)
    assert asked.status_code == 200
    assert f"Open the exit barrier for visit {visit}: declared at the border" in asked.get_data(
        as_text=True
    )
    assert _visit(omc_floor, visit)["state"] == "manual"  # nothing before confirmation

    done = operator.post(f"/omc/actions/clear/{visit}", data=form | {"confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"] == "/omc/checkpoints"
    floor = operator.get("/omc/checkpoints").get_data(as_text=True)
    assert f'data-visit="{visit}"' not in floor  # off the lanes ...
    exited = re.search(rf'<tr data-exited="{visit}">.*?</tr>', floor, re.S)
    assert exited and ">manual<" in exited.group(0) and "op (operator)" in exited.group(0)
    seen = _visit(omc_floor, visit)  # ... and so says the checkpoint API
    assert (seen["state"], seen["exit_kind"], seen["cleared_by"]) == (
        "exited",
        "manual",
        "op (operator)",
    )
    # In the trail: the clearance with the officer and reason, and the signed barrier command.
    ((_, who, body),) = _trail(omc_floor.cp.services.store, "manual-clearance")
    assert who == "officer:op (operator)"
    assert json.loads(body) == {
        "visit": visit,
        "officer": "op (operator)",
        "reason": "declared at the border",
    }
    ((_, _, command),) = _trail(omc_floor.cp.services.store, "barrier-command")
    assert b"<ClearedBy>op (operator)</ClearedBy>" in command and b"<Kind>manual</Kind>" in command
    again = operator.post(f"/omc/actions/clear/{visit}", data=form | {"confirm": "yes"})
    assert again.status_code == 409 and "has already exited" in again.get_data(as_text=True)


def test_an_alert_is_acknowledged_with_who_and_when(omc_floor: OmcFloor) -> None:
    app_id, transit, key = in_transit_with_alert(omc_floor)
    operator = omc_floor.client_as("op")
    movements = operator.get("/omc/movements").get_data(as_text=True)
    row = re.search(rf'<tr data-alert="{re.escape(key)}" class="open">.*?</tr>', movements, re.S)
    assert row and "seal-opened" in row.group(0)
    action = re.search(r'<form method="post" action="([^"]+)">', row.group(0))
    assert action and action.group(1).startswith(f"/omc/actions/acknowledge/{transit}/")
    token = csrf(operator, "/omc/movements")
    asked = operator.post(action.group(1), data={"csrf_token": token, "next": "/omc/movements"})
    assert asked.status_code == 200 and f"Acknowledge alert {key} of transit {transit}" in (
        asked.get_data(as_text=True)
    )
    assert not _transit(omc_floor, transit)["alerts"][0].get("acknowledged_by")

    done = operator.post(action.group(1), data={"csrf_token": token, "confirm": "yes",
                                                "next": "/omc/movements"})  # fmt: skip
    assert done.status_code == 302 and done.headers["Location"] == "/omc/movements"
    alert = _transit(omc_floor, transit)["alerts"][0]
    assert alert["acknowledged_by"] == "op" and alert["acknowledged_at"].endswith("Z")
    movements = operator.get("/omc/movements").get_data(as_text=True)
    row = re.search(
        rf'<tr data-alert="{re.escape(key)}" class="acknowledged">.*?</tr>', movements, re.S
    )
    # The time as the reader writes it, the exact moment kept in <time datetime> (gateway.i18n).
    assert row and f'by op at <time datetime="{alert["acknowledged_at"]}">' in row.group(0)
    assert "Acknowledge…" not in row.group(0)
    ((application, who, body),) = _trail(omc_floor.cp.services.store, "officer-action")
    assert (application, who) == (app_id, "officer:op")
    assert json.loads(body) | {"at": None} == {
        "action": "acknowledge-alert", "officer": "op", "role": "operator", "agency": None,
        "at": None, "transit": transit, "alert": key, "kind": "seal-opened", "plate": "512KTC08",
    }  # fmt: skip
    again = operator.post(action.group(1), data={"csrf_token": token, "confirm": "yes"})
    assert again.status_code == 409 and "acknowledged by op already" in again.get_data(as_text=True)


def _case(store: OutboxStore, app_id: str, agency: str) -> dict[str, Any]:
    application = store.application(app_id)
    assert application is not None, app_id
    return next(c for c in application.to_json()["cases"] if c["agency"] == agency)


def _visit(floor: OmcFloor, visit: str) -> dict[str, Any]:
    answer = requests.get(f"{floor.url}/api/v1/checkpoint/visits/{visit}", timeout=30,
                          headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _transit(floor: OmcFloor, transit: str) -> dict[str, Any]:
    answer = requests.get(f"{floor.url}/api/v1/checkpoint/transits/{transit}", timeout=30,
                          headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return dict(answer.json())
