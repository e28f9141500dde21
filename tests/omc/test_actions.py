"""Officers' actions: confirmation first, then the change and a trail entry naming the officer."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from gateway.storage.models import MessageRow
from tests.omc.conftest import csrf


def test_retry_asks_for_confirmation_then_queues_the_case_and_records_the_officer(
    escalated, omc_app, client_as
) -> None:  # type: ignore[no-untyped-def]
    app_id, case_id = escalated
    operator = client_as("op")
    token = csrf(operator, f"/omc/applications/{app_id}")
    asked = operator.post(f"/omc/actions/retry/{case_id}", data={"csrf_token": token})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.get_data(as_text=True)
    store = omc_app.extensions["nsw"].store
    assert (
        next(c for c in store.application(app_id)["cases"] if c["id"] == case_id)["state"]
        == "escalated"
    )

    done = operator.post(
        f"/omc/actions/retry/{case_id}",
        data={"csrf_token": token, "confirm": "yes", "next": f"/omc/applications/{app_id}"},
    )
    assert done.status_code == 302 and done.headers["Location"] == f"/omc/applications/{app_id}"
    assert (
        next(c for c in store.application(app_id)["cases"] if c["id"] == case_id)["state"]
        == "queued"
    )
    with store.transaction() as s:
        row = s.scalars(select(MessageRow).where(MessageRow.kind == "officer-action")).one()
        body, counterpart, row_case = json.loads(row.body), row.counterpart, row.case_id
    assert counterpart == "officer:op" and row_case == case_id
    assert body["action"] == "retry-case" and body["officer"] == "op" and body["role"] == "operator"
    bundle = omc_app.extensions["nsw"].auditor.bundle(app_id)
    assert any(
        b"officer-action" in __import__("base64").b64decode(e["entry"]) for e in bundle["entries"]
    )


def test_an_agency_officer_retries_its_own_agencys_case(escalated, omc_app, client_as) -> None:  # type: ignore[no-untyped-def]
    app_id, case_id = escalated
    customs = client_as("cus")
    token = csrf(customs, "/omc/agencies")
    done = customs.post(
        f"/omc/actions/retry/{case_id}", data={"csrf_token": token, "confirm": "yes"}
    )
    assert done.status_code == 302
    cases = omc_app.extensions["nsw"].store.application(app_id)["cases"]
    assert next(c for c in cases if c["id"] == case_id)["state"] == "queued"


def test_a_case_that_is_not_escalated_is_not_retried(escalated, client_as) -> None:  # type: ignore[no-untyped-def]
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


def test_trail_entries_link_to_a_verified_inclusion_proof(escalated, omc_app, client_as) -> None:  # type: ignore[no-untyped-def]
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
