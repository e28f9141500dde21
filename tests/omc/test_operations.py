"""/healthz, /readyz, /metrics with the screen's figures, a request id on every answer, and the
accounts table exactly as migration 0004 makes it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import Base
from tests.omc.conftest import METRICS_TOKEN, OMC, OPERATOR_TOKEN


def test_health_readiness_and_metrics(escalated: tuple[str, str], omc_app: Flask) -> None:
    client = omc_app.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")  # this app has no agency endpoints: up, but not ready
    assert ready.status_code == 503 and ready.get_json()["checks"]["database"] == "ok"
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200 and scraped.mimetype == "text/plain"
    text = scraped.get_data(as_text=True)
    assert 'nsw_agency_escalated_cases{agency="customs"} 1.0' in text
    assert 'nsw_agency_breaker_state{agency="customs"} 0.0' in text
    assert 'nsw_applications{status="in_progress"} 1.0' in text


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {METRICS_TOKEN}", f"Bearer {OPERATOR_TOKEN}"],
)
def test_metrics_are_refused_without_the_scrapers_token(
    omc_app: Flask, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    refused = omc_app.test_client().get("/metrics", headers=headers)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert "NSW_METRICS_TOKENS" in refused.get_json()["detail"]
    assert "nsw_applications" not in refused.get_data(as_text=True)


def test_metrics_are_closed_when_no_token_is_configured(app_factory: Callable[..., Flask]) -> None:
    client = app_factory(**(OMC | {"metrics_tokens": ()})).test_client()
    for token in ("", METRICS_TOKEN):
        assert (
            client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        )
    # Both are open; /readyz is 503 only because this app has no agency endpoints.
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 503


def test_a_request_id_is_kept_or_made(omc_app: Flask) -> None:
    client = omc_app.test_client()
    assert (
        client.get("/healthz", headers={"X-Request-Id": "trace-12345678"}).headers["X-Request-Id"]
        == "trace-12345678"
    )
    made = client.get("/healthz", headers={"X-Request-Id": "bad id!"}).headers["X-Request-Id"]
    assert len(made) == 16 and made.isalnum()


def test_migration_0004_creates_exactly_the_accounts_model(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert [d for d in diff if "omc_accounts" in repr(d)] == []
