"""The veterinary stand-in, through the gateway's REST adapter (RFC 9421 both ways): the EAEU
Decision 317 list, origin restrictions, the certificate and the register of establishments."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters import AgencyAdapter, AgencyAnswer, AgencyRequest, Outcome
from simulators.server import RunningAgency
from tests.integration.conftest import sample


def swap(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def edit(raw: bytes) -> bytes:
        assert old in raw, old
        return raw.replace(old, new)

    return edit


@pytest.fixture
def permit(
    agency_server: Callable[..., RunningAgency], adapter_for: Callable[..., AgencyAdapter]
) -> Callable[..., AgencyAnswer]:
    veterinary = adapter_for("veterinary", agency_server("veterinary").url)
    counter = iter(range(1000))

    def send(
        name: str = "chilled-lamb-import", edit: Callable[[bytes], bytes] | None = None
    ) -> AgencyAnswer:
        return veterinary.send(AgencyRequest(f"case-{next(counter)}", "app-1", sample(name, edit)))

    return send


def test_meat_from_a_registered_establishment_is_granted(
    permit: Callable[..., AgencyAnswer],
) -> None:
    answer = permit()
    assert answer.outcome is Outcome.GRANTED
    assert answer.permit_number and answer.permit_number.startswith("KZ-VET-")
    assert answer.valid_until is not None
    assert answer.conditions == (
        "present the animals or products and the original veterinary certificate at the "
        "veterinary control post at KZ-ZHIBEKZHOLY",
    )


@pytest.mark.parametrize(
    ("edit", "code", "said"),
    [
        (swap(b"<ForeignId>UZ-VET-0417-SAM<", b"<ForeignId>UZ-UNLISTED-9<"),
         "VET-ESTABLISHMENT-NOT-LISTED",
         "the exporter Samarkand Meat Processing JSC (UZ-UNLISTED-9) is not in the EAEU register"),
        (swap(b"<Type>veterinary-certificate<", b"<Type>other<"), "VET-CERT-MISSING",
         "a veterinary certificate of the exporting country is required"),
        (swap(b"<OriginCountry>UZ<", b"<OriginCountry>PK<"), "VET-ORIGIN-RESTRICTED",
         "originating in PK is under a veterinary restriction"),
    ],
)  # fmt: skip
def test_meat_is_refused_for_each_missing_guarantee(
    permit: Callable[..., AgencyAnswer], edit: Callable[[bytes], bytes], code: str, said: str
) -> None:
    answer = permit(edit=edit)
    assert answer.outcome is Outcome.REFUSED
    assert [r.code for r in answer.reasons] == [code]
    assert said in answer.reasons[0].text


def test_goods_outside_the_list_need_no_permit(permit: Callable[..., AgencyAnswer]) -> None:
    answer = permit("fresh-apples-import")
    assert answer.outcome is Outcome.GRANTED
    assert answer.permit_number is None
    assert answer.conditions == ("no goods under veterinary control",)


def test_the_register_applies_to_meat_not_to_live_animals(
    permit: Callable[..., AgencyAnswer],
) -> None:
    # Live cattle from the Netherlands with a certificate: no establishment register for chapter 01.
    answer = permit(
        "live-cattle-import",
        lambda raw: raw.replace(b"<OriginCountry>IN<", b"<OriginCountry>NL<"),
    )
    assert answer.outcome is Outcome.GRANTED, answer.reasons
