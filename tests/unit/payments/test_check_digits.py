"""ISO 7064 MOD 97-10: the KZ IBAN (ISO 13616) and the ISO 11649 payment reference, against
published vectors."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.payments import Iban, PaymentReference
from gateway.payments.check_digits import mod97
from gateway.payments.errors import InvalidIban, InvalidPaymentReference
from tests.unit.payments.factories import PROPERTY

# The example IBAN for Kazakhstan in the SWIFT IBAN Registry (the ISO 13616 registration
# authority's list; also carried by iban4j's and ibantools' country tables), and the registry's
# example for Great Britain, which exercises letters in the bank code.
SWIFT_REGISTRY_KZ = "KZ86125KZT5004100100"
SWIFT_REGISTRY_GB = "GB82WEST12345698765432"
# The structured creditor reference examples of ISO 11649 (as quoted by the European Payments
# Council's guidance on the RF creditor reference and by Wikipedia's "Creditor Reference").
ISO_11649 = ("RF18539007547034", "RF18000000000539007547034")


def test_the_swift_registry_examples_pass() -> None:
    iban = Iban(SWIFT_REGISTRY_KZ)
    assert (iban.bank_code, iban.account) == ("125", "KZT5004100100")
    assert mod97(SWIFT_REGISTRY_GB) == 1


def test_the_printed_form_in_groups_of_four_is_accepted() -> None:
    assert Iban("kz86 125K ZT50 0410 0100").value == SWIFT_REGISTRY_KZ


def test_making_an_iban_gives_the_registry_check_digits() -> None:
    assert str(Iban.make("125", "KZT5004100100")) == SWIFT_REGISTRY_KZ
    # The stand-in treasury's invented account (reference §6 worked example).
    assert str(Iban.make("998", "0000000012345")) == "KZ909980000000012345"


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("KZ909980000000012346", "check digits"),  # last digit changed
        ("KZ86125KZT5004101000", "check digits"),  # two digits swapped
        ("KZ86125KZT500410010", "20 characters"),  # one short
        ("DE89370400440532013000", "not a Kazakh IBAN"),  # valid, but German
        ("KZ8612XKZT5004100100", "3-digit bank code"),
    ],
)
def test_a_wrong_kz_iban_is_refused_saying_why(bad: str, match: str) -> None:
    with pytest.raises(InvalidIban, match=match):
        Iban(bad)


@pytest.mark.parametrize("vector", ISO_11649)
def test_the_iso_11649_examples_pass(vector: str) -> None:
    assert PaymentReference(vector).value == vector


def test_the_gateway_issues_readable_references_with_check_digits() -> None:
    reference = PaymentReference.issue(dt.date(2026, 12, 7), 123)
    assert reference.value[4:] == "NSW20261207000123"
    assert mod97(reference.value) == 1
    assert PaymentReference(reference.value) == reference


@pytest.mark.parametrize("bad", ["RF19539007547034", "RF18539007547043", "XX18539007547034", ""])
def test_a_wrong_reference_is_refused(bad: str) -> None:
    with pytest.raises(InvalidPaymentReference, match="ISO 11649"):
        PaymentReference(bad)


@PROPERTY
@given(
    st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
    st.integers(1, 999_999),
    st.data(),
)
def test_any_single_mistyped_digit_or_letter_is_caught(
    day: dt.date, serial: int, data: st.DataObject
) -> None:
    # A digit typed for a digit or a letter for a letter; a letter for a digit changes the length
    # of the number MOD 97 works on, and ISO 7064 promises nothing for that.
    reference = PaymentReference.issue(day, serial).value
    at = data.draw(st.integers(2, len(reference) - 1))
    alphabet = "0123456789" if reference[at].isdigit() else "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    typo = data.draw(st.sampled_from(alphabet))
    if typo == reference[at]:
        return
    with pytest.raises(InvalidPaymentReference):
        PaymentReference(reference[:at] + typo + reference[at + 1 :])


@PROPERTY
@given(st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)), st.integers(1, 999_999), st.data())
def test_any_swap_of_two_adjacent_digits_is_caught(
    day: dt.date, serial: int, data: st.DataObject
) -> None:
    reference = PaymentReference.issue(day, serial).value
    at = data.draw(st.integers(2, len(reference) - 2))
    a, b = reference[at], reference[at + 1]
    if a == b:
        return
    with pytest.raises(InvalidPaymentReference):
        PaymentReference(reference[:at] + b + a + reference[at + 2 :])
