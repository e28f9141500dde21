"""The OMC's JSON answers (evidence bundles, chart data) are not kept by any cache, like its pages
(issue 15, item 11); its static files may be."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient


def test_omc_json_and_pages_are_not_cached(
    omc_app: Flask, client_as: Callable[[str], FlaskClient], signed_sample: Any
) -> None:
    lodged = omc_app.test_client().post(
        "/api/v1/applications",
        data=signed_sample("fresh-apples-import"),
        content_type="application/xml",
    )
    auditor = client_as("aud")
    for path in (
        f"/omc/audit/bundles/{lodged.get_json()['id']}.json",
        "/omc/charts/data.json",
        "/omc/applications",
    ):
        answer = auditor.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["Cache-Control"] == "no-store", path
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path


def test_omc_static_files_may_be_cached(omc_app: Flask) -> None:
    answer = omc_app.test_client().get("/omc/static/omc.css")
    assert answer.status_code == 200
    assert "no-store" not in answer.headers.get("Cache-Control", "")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    answer.close()
