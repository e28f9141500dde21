"""BIN/IIN and TN VED value types.

Numbers come from /work/shared/reference/identifiers.md: §2's worked examples, and the real BINs
it quotes from python-stdnum `tests/test_kz_bin.doctest` (including the four that need the second
pass). The trader BINs are the ones the dev PKI issues certificates to.
"""

from __future__ import annotations

import dataclasses

import pytest

from gateway.domain.identifiers import Bin, HsCode, kz_check_digit
from gateway.errors import InvalidValue

# python-stdnum tests/test_kz_bin.doctest, via reference §2 (real BINs).
STDNUM_ONE_PASS = ["940140000385"]
STDNUM_TWO_PASS = ["011140001654", "011140001666", "960240007379", "020440002422"]
# kz-iin-validator README (061211600012, two passes) and the reference's synthetic 900101300017.
IINS = ["061211600012", "900101300017"]
DEV_PKI_TRADER_BINS = [
    "210540012341",
    "190340025677",
    "181240044780",
    "221140008918",
    "200740033101",
]


@pytest.mark.parametrize(
    ("first11", "digit"),
    [
        ("94014000038", 5),  # §2 table: pass 1 sum 159, mod 11 = 5
        ("01114000165", 4),  # §2 table: pass 1 gives 10, pass 2 sum 70 -> 4
        ("06121160001", 2),  # §2 table: pass 1 gives 10, pass 2 sum 112 -> 2
        ("90010130001", 7),  # §2 table: pass 1 sum 51 -> 7
    ],
)
def test_check_digit_matches_the_worked_examples(first11: str, digit: int) -> None:
    assert kz_check_digit(first11) == digit


def test_a_prefix_whose_two_passes_both_give_ten_has_no_check_digit() -> None:
    # §2 table: 90010130080_ gives 10 in pass 1 (sum 120) and in pass 2 (sum 76).
    assert kz_check_digit("90010130080") is None


@pytest.mark.parametrize("bad", ["9401400003", "940140000385", "9401400003a", "٩٤٠١٤٠٠٠٠٣٨"])
def test_check_digit_needs_eleven_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="11 ASCII digits"):
        kz_check_digit(bad)


@pytest.mark.parametrize("number", STDNUM_ONE_PASS + STDNUM_TWO_PASS + IINS + DEV_PKI_TRADER_BINS)
def test_real_and_worked_numbers_are_valid(number: str) -> None:
    assert Bin(number).value == number
    assert str(Bin(number)) == number


@pytest.mark.parametrize("number", STDNUM_TWO_PASS)
def test_two_pass_bins_would_fail_if_ten_were_mapped_to_zero(number: str) -> None:
    # The OKPO-style shortcut (10 -> 0) gives 0 for these; only the second pass gives their digit.
    assert number[11] != "0"
    assert kz_check_digit(number[:11]) == int(number[11])


@pytest.mark.parametrize("last", "0123456789")
def test_every_number_with_an_unusable_prefix_is_refused(last: str) -> None:
    with pytest.raises(InvalidValue, match="no check digit is possible"):
        Bin("90010130080" + last)


@pytest.mark.parametrize("number", ["940140000386", "011140001650", "210540012340"])
def test_a_wrong_check_digit_is_refused(number: str) -> None:
    with pytest.raises(InvalidValue, match="fails its check digit"):
        Bin(number)


def test_swapped_digits_are_caught() -> None:
    with pytest.raises(InvalidValue, match="fails its check digit"):
        Bin("490140000385")  # 940140000385 with the first two digits swapped


@pytest.mark.parametrize(
    "text",
    [
        "94014000038",
        "9401400003850",
        "94014000038X",
        " 940140000385",
        "9401 4000 0385",
        "٩٤٠١٤٠٠٠٠٣٨٥",
    ],
)
def test_a_bin_must_be_twelve_ascii_digits(text: str) -> None:
    with pytest.raises(InvalidValue, match="exactly 12 digits"):
        Bin(text)


def test_a_huge_value_is_not_echoed_whole() -> None:
    with pytest.raises(InvalidValue) as caught:
        Bin("1" * 10_000)
    assert len(caught.value.detail) < 300


def test_bin_is_an_immutable_value() -> None:
    number = Bin("940140000385")
    assert number == Bin("940140000385")
    assert len({number, Bin("940140000385")}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        number.value = "011140001654"  # type: ignore[misc]


def test_the_error_is_an_invalid_value_problem() -> None:
    with pytest.raises(InvalidValue) as caught:
        Bin("940140000386")
    problem = caught.value.problem()
    assert problem["status"] == 422
    assert problem["type"].endswith("invalid-value")
    assert problem["field"] == "bin"


@pytest.mark.parametrize(
    ("code", "chapter", "heading"),
    [("0808108000", 8, "0808"), ("0102291000", 1, "0102"), ("8431490000", 84, "8431")],
)
def test_hs_code_chapter_and_heading(code: str, chapter: int, heading: str) -> None:
    hs = HsCode(code)
    assert (hs.chapter, hs.heading, str(hs)) == (chapter, heading, code)


@pytest.mark.parametrize(
    "text", ["080810800", "08081080000", "0808 10 800 0", "0808.10.800.0", "080810800a", ""]
)
def test_hs_code_must_be_ten_digits(text: str) -> None:
    with pytest.raises(InvalidValue, match="10-digit EAEU TN VED"):
        HsCode(text)


def test_hs_chapter_zero_does_not_exist() -> None:
    with pytest.raises(InvalidValue, match="chapter 00"):
        HsCode("0012345678")
