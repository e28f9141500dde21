"""The company's permits on the portal (issue 21, item 3): the list with balance, unit, validity
and state, a permit's page with its write-offs; another company's permit answers as one that
does not exist, and another company's list as the API's `not-your-permit`."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gateway.billing.permits import PermitBook
from tests.payments.permit_rows import ALTYN, STEPPE, lodge_citing, vet_permit

Client = Callable[[str], FlaskClient]


def words(answer: TestResponse) -> str:
    """What a reader sees of the page: its text without the markup, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", answer.get_data(as_text=True))).split())


def seed(app: Flask) -> None:
    """Steppe's VET-1 (10 t, 6.5 t written off) and VET-2; Altyn's VET-9."""
    book: PermitBook = app.extensions["nsw-permits"]
    book.grant(vet_permit("VET-1", "10"), None)
    book.grant(vet_permit("VET-2", "4"), None)
    book.grant(vet_permit("VET-9", "7", holder=ALTYN), None)
    lodge_citing(app.extensions["nsw"].store, "APP-1", "6.5")
    book.write_off("APP-1")


def test_a_trader_lists_its_permits_and_reads_one(portal_app: Flask, trader_client: Client) -> None:
    seed(portal_app)
    steppe = trader_client("trader-steppe")
    listing = steppe.get("/portal/permits")
    assert listing.status_code == 200
    page = words(listing)
    assert f"Permits of {STEPPE}" in page
    assert "VET-1 veterinary 0201100001 Beef carcasses, fresh 10 t 6.5 t 3.5 t" in page
    assert "VET-2" in page and "valid" in page
    assert "VET-9" not in page  # Altyn's

    one = words(steppe.get("/portal/permits/VET-1"))
    assert "Balance 3.5 t" in one
    assert re.search(r"APP-1 6\.5 t \d{4}-\d\d-\d\d no", one)  # not credited back

    ru = words(steppe.get("/portal/permits/VET-1", headers={"Accept-Language": "ru"}))
    assert "Остаток 3,5 t" in ru and "Разрешение VET-1" in ru


def test_another_companys_permit_is_not_found_and_its_list_is_refused(
    portal_app: Flask, trader_client: Client
) -> None:
    seed(portal_app)
    steppe = trader_client("trader-steppe")
    theirs = steppe.get("/portal/permits/VET-9")
    none = steppe.get("/portal/permits/VET-404")
    assert theirs.status_code == none.status_code == 404
    # The same sentence for a permit that exists and one that does not: nothing is told.
    assert words(theirs).replace("VET-9", "X") == words(none).replace("VET-404", "X")
    assert "Beef" not in words(theirs)

    other = steppe.get(f"/portal/permits?holder={ALTYN}")
    assert other.status_code == 403
    assert "urn:kz:nsw:problem:not-your-permit" in words(other)
    assert "VET-9" not in words(other)
