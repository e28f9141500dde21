"""Permits with a balance: write-offs, credit-backs, states on a day, the agency's transitions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.payments import Drawer, PermitState, Quantity
from gateway.payments.errors import (
    InvalidQuantity,
    NothingToCreditBack,
    PermitBalanceExceeded,
    PermitExpired,
    PermitNotValidYet,
    PermitOfAnotherHolder,
    PermitRevoked,
    PermitSuspended,
    PermitTransitionRefused,
    PermitUnitMismatch,
    PermitWriteOffConflict,
)
from tests.unit.payments.factories import ALTYN, DAY, PROPERTY, STEPPE, permit, qty

LAST_DAY = DAY + dt.timedelta(days=30)


def test_write_offs_draw_the_balance_down_until_it_is_exhausted() -> None:
    p = permit("1000").write_off("A1", qty("600"), DAY, STEPPE)
    assert p.balance == qty("400") and p.state_on(DAY) is PermitState.VALID
    p = p.write_off("A2", qty("400"), DAY, STEPPE)
    assert p.balance == qty("0") and p.state_on(DAY) is PermitState.EXHAUSTED
    assert [(w.application_id, str(w.quantity)) for w in p.write_offs] == [
        ("A1", "600 kg"), ("A2", "400 kg"),
    ]  # fmt: skip


def test_a_write_off_beyond_the_balance_is_refused_stating_what_is_left() -> None:
    p = permit("1000").write_off("A1", qty("999.5"), DAY, STEPPE)
    with pytest.raises(PermitBalanceExceeded, match=r"has 0\.5 kg left; 1 kg cannot") as caught:
        p.write_off("A2", qty("1"), DAY, STEPPE)
    assert caught.value.extensions["remaining"] == "0.5"
    assert p.balance == qty("0.5")  # the permit is a value: nothing changed


def test_a_permit_of_another_holder_is_refused() -> None:
    with pytest.raises(PermitOfAnotherHolder, match="another holder"):
        permit().write_off("A1", qty("1"), DAY, ALTYN)


def test_the_owners_registered_representative_may_draw_on_the_owners_permit() -> None:
    # STEPPE holds the permit; ALTYN declares STEPPE's goods as its registered representative.
    p = permit("10").write_off("A1", qty("4"), DAY, Drawer(ALTYN, owner=STEPPE))
    assert p.balance == qty("6")
    # Without the registration (no owner in the drawer) it is another holder's permit.
    with pytest.raises(PermitOfAnotherHolder, match="another holder"):
        permit().write_off("A1", qty("1"), DAY, Drawer(ALTYN))


def test_validity_is_checked_on_the_day_of_use() -> None:
    p = permit()
    assert p.write_off("A1", qty("1"), LAST_DAY, STEPPE).balance == qty("999")  # last day: valid
    assert p.state_on(LAST_DAY + dt.timedelta(days=1)) is PermitState.EXPIRED
    with pytest.raises(PermitExpired, match="has expired"):
        p.write_off("A1", qty("1"), LAST_DAY + dt.timedelta(days=1), STEPPE)
    with pytest.raises(PermitNotValidYet, match="valid from"):
        p.write_off("A1", qty("1"), DAY - dt.timedelta(days=1), STEPPE)


def test_suspended_and_revoked_permits_cannot_be_drawn_on() -> None:
    with pytest.raises(PermitSuspended, match="suspended"):
        permit().suspend().write_off("A1", qty("1"), DAY, STEPPE)
    with pytest.raises(PermitRevoked, match="revoked"):
        permit().revoke().write_off("A1", qty("1"), DAY, STEPPE)
    assert permit().suspend().reinstate().write_off("A1", qty("1"), DAY, STEPPE)


def test_only_allowed_transitions_happen() -> None:
    with pytest.raises(PermitTransitionRefused, match="is revoked; it cannot become active"):
        permit().revoke().reinstate()
    with pytest.raises(PermitTransitionRefused):
        permit().reinstate()
    assert permit().suspend().revoke().state_on(DAY) is PermitState.REVOKED


def test_credit_back_returns_the_quantity_and_an_exhausted_permit_is_valid_again() -> None:
    p = permit("10").write_off("A1", qty("10"), DAY, STEPPE)
    assert p.state_on(DAY) is PermitState.EXHAUSTED
    back = p.credit_back("A1")
    assert back.balance == qty("10") and back.state_on(DAY) is PermitState.VALID
    with pytest.raises(NothingToCreditBack, match="wrote nothing off"):
        back.credit_back("A1")


def test_the_same_write_off_again_is_idempotent_another_quantity_conflicts() -> None:
    p = permit().write_off("A1", qty("5"), DAY, STEPPE)
    assert p.write_off("A1", qty("5"), DAY, STEPPE) == p
    with pytest.raises(PermitWriteOffConflict, match="credit that back"):
        p.write_off("A1", qty("6"), DAY, STEPPE)


def test_the_unit_must_be_the_permits() -> None:
    with pytest.raises(PermitUnitMismatch, match="counted in kg"):
        permit().write_off("A1", qty("1", "head"), DAY, STEPPE)


@pytest.mark.parametrize(
    ("value", "unit", "match"),
    [("-1", "kg", "not negative"), ("0.0001", "kg", "3 decimals"), ("1", "bags", "unit")],
)
def test_a_bad_quantity_is_refused(value: str, unit: str, match: str) -> None:
    with pytest.raises(InvalidQuantity, match=match):
        Quantity(Decimal(value), unit)
    with pytest.raises(InvalidQuantity, match="not a decimal"):
        Quantity(1.5, "kg")  # type: ignore[arg-type]


steps = st.lists(
    st.tuples(st.sampled_from(["off", "back"]), st.integers(0, 5), st.integers(1, 400)),
    max_size=30,
)


@PROPERTY
@given(steps)
def test_the_balance_stays_exact_whatever_is_written_off_and_back(
    moves: list[tuple[str, int, int]],
) -> None:
    p = permit("1000")
    for move, app, grams in moves:
        amount = Quantity(Decimal(grams).scaleb(-3) * 100, "kg")
        try:
            if move == "off":
                p = p.write_off(f"A{app}", amount, DAY, STEPPE)
            else:
                p = p.credit_back(f"A{app}")
        except (PermitBalanceExceeded, PermitWriteOffConflict, NothingToCreditBack):
            pass
        assert p.balance.value + p.written_off.value == Decimal(1000)
        assert p.balance.value >= 0
        assert len({w.application_id for w in p.write_offs}) == len(p.write_offs)
