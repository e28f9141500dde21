"""Withdrawal and amendment through the API, without agencies (issue 19): who may, when, the
problem each refusal gets, that a refused request changes nothing but the trail, and that two
amendments of one version never both win. On SQLite and PostgreSQL (`database_url`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.decision.rules import CaseState
from gateway.lifecycle.ports import LifecycleConflict, NewVersion
from gateway.storage.models import CheckpointVisitRow
from gateway.trail.messages import Message
from tests.lifecycle_documents import amends, withdrawal
from tests.responses import json_of
from tests.trader_requests import identity, signature_headers

XML = {"Content-Type": "application/xml"}
APPLES = "fresh-apples-import"


def problem_code(response: Any) -> str:
    assert response.mimetype == "application/problem+json", response.data[:300]
    return str(response.json["type"]).rsplit(":", 1)[-1]


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _lodge(client: FlaskClient, signed_sample: Callable[..., bytes]) -> dict[str, Any]:
    response = client.post("/api/v1/applications", data=signed_sample(APPLES), headers=XML)
    assert response.status_code == 202, response.json
    answer: dict[str, Any] = json_of(response)
    return answer


def _status(client: FlaskClient, pki: Any, application_id: str) -> dict[str, Any]:
    path = f"/api/v1/applications/{application_id}"
    answer: dict[str, Any] = json_of(
        client.get(path, headers=signature_headers(identity(pki, "trader-steppe"), path))
    )
    return answer


def _kinds(app: Flask, application_id: str) -> list[str]:
    return [m.kind for m in app.extensions["nsw"].store.messages(application_id)]


def _withdraw(client: FlaskClient, pki: Any, application_id: str, *, signer: str = "trader-steppe",
              reason: str = "no-longer-shipping", to: str | None = None) -> Any:  # fmt: skip
    body = withdrawal(identity(pki, signer), application_id, reason)
    return client.post(
        f"/api/v1/applications/{to or application_id}/withdrawal", data=body, headers=XML
    )


def test_a_withdrawal_closes_every_case_and_signs_a_withdrawn_decision(
    app: Flask, client: FlaskClient, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    lodged = _lodge(client, signed_sample)
    response = _withdraw(client, pki, lodged["id"])
    assert response.status_code == 200, response.json
    assert response.json["status"] == "withdrawn"
    assert sorted(response.json["cancelling"]) == sorted(lodged["agencies"])
    status = _status(client, pki, lodged["id"])
    assert status["status"] == "withdrawn" and status["verdict"] == "withdrawn"
    assert {c["state"] for c in status["cases"]} == {"cancelling"}
    path = f"/api/v1/applications/{lodged['id']}/decision"
    decision = client.get(path, headers=signature_headers(identity(pki, "trader-steppe"), path))
    assert b"<Outcome>withdrawn</Outcome>" in decision.data
    assert hashlib.sha256(decision.data).hexdigest() == response.json["decision_sha256"]
    assert _kinds(app, lodged["id"])[-2:] == ["withdrawal", "decision"]


def test_a_signer_who_may_not_act_for_the_declarant_gets_403_and_changes_nothing(
    app: Flask, client: FlaskClient, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    lodged = _lodge(client, signed_sample)
    response = _withdraw(client, pki, lodged["id"], signer="trader-altyn")
    assert response.status_code == 403
    assert problem_code(response) == "lifecycle-signer-not-allowed"
    status = _status(client, pki, lodged["id"])
    assert status["status"] == "in_progress"
    assert {c["state"] for c in status["cases"]} == {"queued"}
    assert _kinds(app, lodged["id"]) == ["application", "withdrawal-refused"]


def test_an_unknown_application_is_404(
    client: FlaskClient, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    response = _withdraw(client, pki, "NSW-20260101-0000000000")
    assert response.status_code == 404
    assert problem_code(response) == "application-unknown"


def test_a_withdrawal_sent_to_another_application_is_refused(
    client: FlaskClient, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    lodged = _lodge(client, signed_sample)
    response = _withdraw(client, pki, lodged["id"], to="NSW-20260101-0000000000")
    assert response.status_code == 422
    assert problem_code(response) == "invalid-value"


def test_an_unknown_reason_and_a_second_withdrawal_are_refused(
    client: FlaskClient, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    lodged = _lodge(client, signed_sample)
    unknown = _withdraw(client, pki, lodged["id"], reason="changed-my-mind")
    assert unknown.status_code == 422 and problem_code(unknown) == "invalid-value"
    assert _withdraw(client, pki, lodged["id"]).status_code == 200
    again = _withdraw(client, pki, lodged["id"])
    assert again.status_code == 409
    assert problem_code(again) == "not-amendable"


def test_after_the_exit_nothing_may_change(
    app: Flask, client: FlaskClient, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    lodged = _lodge(client, signed_sample)
    store = app.extensions["nsw"].store
    now = dt.datetime.now(dt.UTC)
    with store.transaction() as s:
        s.add(
            CheckpointVisitRow(
                id="VIS-1", checkpoint="KZ-NURZHOLY", plate="777KZT02", lane="exit-1",
                applications=json.dumps([lodged["id"]]), state="exited", arrived_at=now,
                exited_at=now,
            )
        )  # fmt: skip
    response = _withdraw(client, pki, lodged["id"])
    assert response.status_code == 409
    assert problem_code(response) == "after-exit"
    assert "exited" in response.json["detail"]
    amended = client.post(
        f"/api/v1/applications/{lodged['id']}/versions",
        data=signed_sample(APPLES, edit=amends(lodged["id"], lodged["application_sha256"], 1,
                                               quantity="19000")),
        headers=XML,
    )  # fmt: skip
    assert amended.status_code == 409 and problem_code(amended) == "after-exit"
    assert _status(client, pki, lodged["id"])["status"] == "in_progress"


def _amend(client: FlaskClient, signed_sample: Callable[..., bytes], application_id: str,
           sha256: str, version: int, **edit: str) -> Any:  # fmt: skip
    return client.post(
        f"/api/v1/applications/{application_id}/versions",
        data=signed_sample(APPLES, edit=amends(application_id, sha256, version, **edit)),
        headers=XML,
    )


def test_an_amendment_becomes_version_two_and_an_old_version_is_superseded(
    app: Flask, client: FlaskClient, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    lodged = _lodge(client, signed_sample)
    first = _amend(client, signed_sample, lodged["id"], lodged["application_sha256"], 1,
                   quantity="19000")  # fmt: skip
    assert first.status_code == 202, first.json
    assert first.json["version"] == 2
    assert first.json["changes"] == ["item 1 item.quantity: 19800 -> 19000"]
    # customs re-checks everything; phytosanitary and health the items; transport and police not
    assert first.json["agencies"]["untouched"] == ["transport", "police"]
    again = _amend(client, signed_sample, lodged["id"], lodged["application_sha256"], 1,
                   quantity="18000")  # fmt: skip
    assert again.status_code == 409
    assert problem_code(again) == "version-superseded"
    assert again.json["current_version"] == 2
    assert _kinds(app, lodged["id"]) == ["application", "amendment", "amendment-refused"]
    status = _status(client, pki, lodged["id"])
    assert [v["version"] for v in status["versions"]] == [1, 2]
    assert status["application_sha256"] == status["versions"][1]["sha256"]


def test_an_identity_change_is_not_amendable(
    client: FlaskClient, signed_sample: Callable[..., bytes]
) -> None:
    lodged = _lodge(client, signed_sample)
    response = _amend(client, signed_sample, lodged["id"], lodged["application_sha256"], 1,
                      procedure="transit")  # fmt: skip
    assert response.status_code == 409
    assert problem_code(response) == "not-amendable"
    assert response.json["reason"] == "identity-changed"


def test_two_amendments_of_one_version_at_once_exactly_one_wins(
    app: Flask, client: FlaskClient, signed_sample: Callable[..., bytes]
) -> None:
    lodged = _lodge(client, signed_sample)
    bodies = [
        signed_sample(APPLES, edit=amends(lodged["id"], lodged["application_sha256"], 1,
                                          quantity=q))
        for q in ("19000", "18000")
    ]  # fmt: skip
    start = threading.Barrier(2)
    answers: list[Any] = [None, None]

    def lodge_version(i: int) -> None:
        own = app.test_client()
        start.wait()
        answers[i] = own.post(
            f"/api/v1/applications/{lodged['id']}/versions", data=bodies[i], headers=XML
        )

    threads = [threading.Thread(target=lodge_version, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [202, 409]
    lost = next(a for a in answers if a.status_code == 409)
    assert problem_code(lost) == "version-superseded" and lost.json["current_version"] == 2


def test_the_version_column_is_a_compare_and_set(
    app: Flask, client: FlaskClient, signed_sample: Callable[..., bytes]
) -> None:
    """Below the service's own check: two writes of version 2 racing in storage, one wins."""
    lodged = _lodge(client, signed_sample)
    versions = app.extensions["nsw"].lifecycle.store
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def write(quantity: str) -> None:
        new = NewVersion(
            application_id=lodged["id"], version=2, body=quantity.encode(),
            signer_subject="CN=test", routing={"customs": []}, changes=(quantity,),
            reopened=("customs",),
        )  # fmt: skip
        start.wait()
        try:
            versions.amend(new, [], lambda subject, cases: None)
            outcomes.append("won")
        except LifecycleConflict as conflict:
            outcomes.append(f"{conflict.kind} {conflict.version}")

    threads = [threading.Thread(target=write, args=(q,)) for q in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["superseded 2", "won"]
    assert versions.current(lodged["id"]).version == 2


def test_cancelled_cases_take_no_part_in_the_decision() -> None:
    from gateway.decision.rules import CaseResult, compose

    granted = CaseResult("customs", CaseState.GRANTED, permit_number="P-1")
    assert compose([granted, CaseResult("health", CaseState.CANCELLED)]) is not None
    assert compose([granted, CaseResult("health", CaseState.CANCELLING)]) is not None
    assert compose([CaseResult("health", CaseState.CANCELLED)]) is None


def test_an_amendment_lodged_as_a_new_application_is_refused(
    client: FlaskClient, signed_sample: Callable[..., bytes]
) -> None:
    lodged = _lodge(client, signed_sample)
    body = signed_sample(
        APPLES,
        edit=lambda raw: amends(lodged["id"], lodged["application_sha256"], 1, quantity="1")(
            raw.replace(b"<TraderReference>", b"<TraderReference>NEW-", 1)
        ),
    )
    response = client.post("/api/v1/applications", data=body, headers=XML)
    assert response.status_code == 422
    assert problem_code(response) == "invalid-value"
    assert f"/api/v1/applications/{lodged['id']}/versions" in json_of(response)["detail"]


def test_an_escalated_cancellation_retried_by_an_operator_is_a_cancellation_again(
    app: Flask, client: FlaskClient, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    from sqlalchemy import select

    from gateway.storage.models import CaseRow, OutboxRow

    lodged = _lodge(client, signed_sample)
    assert _withdraw(client, pki, lodged["id"]).status_code == 200
    store = app.extensions["nsw"].store
    case_id = f"{lodged['id']}-customs"
    with store.transaction() as s:  # the cancel delivery failed until its last attempt
        s.get_one(CaseRow, case_id).state = CaseState.ESCALATED.value
    store.retry_case(case_id)
    with store.reading() as s:
        assert s.get_one(CaseRow, case_id).state == "cancelling"
        operations = s.scalars(
            select(OutboxRow.operation).where(OutboxRow.case_id == case_id).order_by(OutboxRow.id)
        ).all()
    assert operations == ["request", "cancel", "cancel"]


def test_an_amendment_and_a_withdrawal_are_owed_as_the_events_the_trader_chose(
    app: Flask, client: FlaskClient, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    services = app.extensions["nsw"]
    lodged = _lodge(client, signed_sample)
    declarant = _status(client, pki, lodged["id"])["declarant_bin"]
    services.notifications.subscribe(
        declarant, "https://trader.example/in", fingerprint="00" * 32,
        events=("application.amended", "application.withdrawn"),
        message=Message("notification-url", "in", f"trader:{declarant}", "text/plain", b"t"),
    )  # fmt: skip
    amended = _amend(client, signed_sample, lodged["id"], lodged["application_sha256"], 1,
                     quantity="19000")  # fmt: skip
    assert amended.status_code == 202, amended.json
    assert _withdraw(client, pki, lodged["id"]).status_code == 200
    owed = {c.kind: json.loads(c.decision) for c in services.notifications.claim("n1", 30.0)}
    assert set(owed) == {"application.amended", "application.withdrawn"}
    assert owed["application.amended"]["version"] == 2
    assert owed["application.amended"]["agencies_untouched"] == ["transport", "police"]
    assert owed["application.withdrawn"]["reason"] == "no-longer-shipping"
    assert all(e["applicationId"] == lodged["id"] for e in owed.values())
