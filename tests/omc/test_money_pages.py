"""The OMC's payments and permits pages (issue 20 item 5): who may see them, what they show, and
the applications filter that knows `granted` (granted by every agency, not yet released)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.billing.permits import PermitBook
from gateway.payments.errors import PermitBalanceExceeded
from tests.payments.guarantee_rows import store_guarantees
from tests.payments.permit_rows import lodge_citing, vet_permit


def _permit_held(omc_app: Flask) -> None:
    """A veterinary permit written off by one application; another is held for it."""
    book: PermitBook = omc_app.extensions["nsw-permits"]
    store = omc_app.extensions["nsw"].store
    book.grant(vet_permit(permit_id="KZ-VET-OMC-1", granted="10"), None)
    lodge_citing(store, "NSW-OMC-P1", "7", permit_id="KZ-VET-OMC-1")
    lodge_citing(store, "NSW-OMC-P2", "7", permit_id="KZ-VET-OMC-1")
    book.write_off("NSW-OMC-P1")
    with pytest.raises(PermitBalanceExceeded):  # the refusal the page shows
        book.write_off("NSW-OMC-P2")


def test_operators_and_auditors_see_payments_and_permits(
    omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    _permit_held(omc_app)
    for who in ("op", "aud"):
        client = client_as(who)
        payments = client.get("/omc/payments")
        assert payments.status_code == 200
        page = payments.get_data(as_text=True)
        assert 'id="orders"' in page and 'id="refunds"' in page
        permits = client.get("/omc/permits").get_data(as_text=True)
        assert "KZ-VET-OMC-1" in permits
        assert "NSW-OMC-P1" in permits  # its write-off
        assert "permit-balance-exceeded" in permits and "NSW-OMC-P2" in permits  # held
        assert "3 t" in permits or "3.000 t" in permits  # the balance


def test_the_payments_page_shows_every_guarantee_and_its_state(
    omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    lodge_citing(omc_app.extensions["nsw"].store, "NSW-OMC-G1", "1")
    store_guarantees(omc_app.extensions["nsw"].store.engine, "NSW-OMC-G1")
    for who in ("op", "aud"):
        page = client_as(who).get("/omc/payments").get_data(as_text=True)
        rows = dict(re.findall(r'<tr data-guarantee="([^"]+)">(.*?)</tr>', page, re.S))
        assert set(rows) == {"KZ-BG-0020", "KZ-SR-0003", "KZ-BG-0001", "KZ-BG-0002"}
        assert "NSW-OMC-G1" in rows["KZ-BG-0001"] and "960340000158" in rows["KZ-BG-0001"]
        assert "811\u00a0000.00 KZT" in rows["KZ-BG-0001"] and "accepted" in rows["KZ-BG-0001"]
        assert "refused" in rows["KZ-BG-0020"] and "<code>expired</code>" in rows["KZ-BG-0020"]
        assert "discharged" in rows["KZ-SR-0003"]
        released = rows["KZ-BG-0002"]  # customs answered the gateway's ReleaseGuarantee
        assert "released by customs" in released and "<code>not-needed</code>" in released
        assert "2026-12-07T06:05:00Z" in released  # when
    ru = client_as("op").get("/omc/payments", headers={"Accept-Language": "ru"})
    assert "Гарант" in ru.get_data(as_text=True) and "прекращена (оплачено)" in ru.get_data(
        as_text=True
    )
    assert "освобождена таможней" in ru.get_data(as_text=True)
    kk = client_as("op").get("/omc/payments", headers={"Accept-Language": "kk"})
    assert "Кепілдік нөмірі" in kk.get_data(as_text=True)
    assert "кеден босатты" in kk.get_data(as_text=True)
    # An agency officer sees no money, guarantees included.
    assert client_as("phy").get("/omc/payments").status_code == 403


def test_agency_officers_see_only_their_agency_s_permits_and_no_money(
    omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    _permit_held(omc_app)
    phy = client_as("phy")
    assert phy.get("/omc/payments").status_code == 403
    page = phy.get("/omc/permits")
    assert page.status_code == 200 and "KZ-VET-OMC-1" not in page.get_data(as_text=True)
    assert client_as("adm").get("/omc/permits").status_code == 403
    assert client_as("adm").get("/omc/payments").status_code == 403


def test_the_applications_filter_knows_granted(client_as: Callable[[str], FlaskClient]) -> None:
    page = client_as("op").get("/omc/applications?status=granted").get_data(as_text=True)
    assert '<option value="granted" selected>' in page
