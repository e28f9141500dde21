"""Citing a permit at intake (issue 20 item 4): a covering citation skips the agency and is kept
for the write-off at release; one that does not cover its item is refused with its own problem
type and nothing is stored (both databases)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import func, select

from gateway.domain.identifiers import HsCode
from gateway.payments.permits import Quantity
from gateway.storage.models import ApplicationRow
from tests.payments.permit_rows import vet_permit
from tests.payments.test_permit_flow import lamb
from tests.responses import json_of

XML = {"Content-Type": "application/xml"}


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    app = app_factory()
    permit = vet_permit(permit_id="KZ-VET-CITE-1", granted="40000", holder="190340025677")
    # The lamb sample's goods: HS 0204100000 in kg (the factory's permit is 0201100001 in t).
    app.extensions["nsw-permits"].grant(
        replace(permit, hs_code=HsCode("0204100000"), granted=Quantity(permit.granted.value, "kg")),
        None,
    )
    app.extensions["nsw-permits"].grant(vet_permit(permit_id="KZ-VET-MEAT-T"), None)
    return app


def test_a_covering_citation_skips_the_agency_and_is_kept(
    app: Flask, signed_sample: Callable[..., bytes]
) -> None:
    body = signed_sample("chilled-lamb-import", edit=lamb("KZ-VET-CITE-1"))
    answer = app.test_client().post("/api/v1/applications", data=body, headers=XML)
    assert answer.status_code == 202, answer.json
    assert "veterinary" not in json_of(answer)["agencies"]
    [citation] = app.extensions["nsw-permits"].permits.citations(json_of(answer)["id"])
    assert (citation.permit_id, f"{citation.quantity:.0f}", citation.unit) == (
        "KZ-VET-CITE-1", "18200", "kg",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("cited", "why"),
    [
        ("KZ-VET-UNKNOWN", "the gateway knows no veterinary permit KZ-VET-UNKNOWN"),
        ("KZ-VET-MEAT-T", "permit KZ-VET-MEAT-T is for HS code 0201100001"),
    ],
)
def test_a_citation_that_does_not_cover_its_item_is_refused(
    app: Flask, signed_sample: Callable[..., bytes], cited: str, why: str
) -> None:
    body = signed_sample("chilled-lamb-import", edit=lamb(cited))
    answer = app.test_client().post("/api/v1/applications", data=body, headers=XML)
    assert answer.status_code == 422
    assert json_of(answer)["type"] == "urn:kz:nsw:problem:permit-citation-invalid"
    assert why in json_of(answer)["detail"] and json_of(answer)["line"] == 1
    with app.extensions["nsw"].store.reading() as s:  # nothing stored
        assert s.scalar(select(func.count(ApplicationRow.id))) == 0
