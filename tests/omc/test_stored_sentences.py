# ruff: noqa: RUF001 - Kazakh and Russian words, in Cyrillic on purpose
"""A transit alert's detail, kept in the database as English, is shown in the officer's language
(issue 21, item 2; gateway.i18n.stored)."""

from __future__ import annotations

import re

import pytest

from tests.omc.trucks import OmcFloor, in_transit_with_alert, without_notice


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        ("ru", "электронная пломба сообщает, что вскрыта"),
        ("kk", "электрондық пломба ашық екенін хабарлайды"),
        ("en", "the electronic seal reports open"),
    ],
)
def test_an_alert_detail_is_shown_in_the_officers_language(
    omc_floor: OmcFloor, language: str, detail: str
) -> None:
    _, _, key = in_transit_with_alert(omc_floor)
    page = omc_floor.client_as("op").get("/omc/movements", headers={"Accept-Language": language})
    row = re.search(
        rf'<tr data-alert="{re.escape(key)}".*?</tr>', page.get_data(as_text=True), re.S
    )
    assert row and f"<td>{detail}</td>" in row.group(0)
    assert "seal-opened" in row.group(0)  # the kind is a code: the same in every language


def test_a_visits_reason_is_shown_in_the_officers_language(omc_floor: OmcFloor) -> None:
    without_notice(omc_floor, "777RUS01")
    page = omc_floor.client_as("op").get("/omc/checkpoints", headers={"Accept-Language": "ru"})
    html = page.get_data(as_text=True)
    assert "Нет предварительного уведомления о транспортном средстве 777RUS01" in html
    assert "No advance notice" not in html
