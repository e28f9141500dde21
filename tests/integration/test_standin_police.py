"""The road police stand-in at entry, through the gateway's REST adapter (RFC 9421 both ways):
stolen and wanted vehicles, the drivers' licences, and the special permit for heavy carriage."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters import AgencyAdapter, AgencyAnswer, AgencyRequest, Outcome
from simulators.server import RunningAgency
from tests.integration.conftest import sample

DRIVER = b"<LicenceNumber>KZ02AB123456</LicenceNumber>\n      <LicenceCountry>KZ</LicenceCountry>"


def swap(*pairs: tuple[bytes, bytes]) -> Callable[[bytes], bytes]:
    def edit(raw: bytes) -> bytes:
        for old, new in pairs:
            assert old in raw, old
            raw = raw.replace(old, new)
        return raw

    return edit


def licence(number: str, country: str = "KZ") -> Callable[[bytes], bytes]:
    return swap(
        (
            DRIVER,
            f"<LicenceNumber>{number}</LicenceNumber>\n      "
            f"<LicenceCountry>{country}</LicenceCountry>".encode(),
        )
    )


@pytest.fixture
def check(
    agency_server: Callable[..., RunningAgency], adapter_for: Callable[..., AgencyAdapter]
) -> Callable[..., AgencyAnswer]:
    police = adapter_for("police", agency_server("police").url)
    counter = iter(range(1000))

    def send(
        name: str = "fresh-apples-import", edit: Callable[[bytes], bytes] | None = None
    ) -> AgencyAnswer:
        return police.send(AgencyRequest(f"case-{next(counter)}", "app-1", sample(name, edit)))

    return send


def test_a_clean_truck_and_driver_are_cleared_at_entry(check: Callable[..., AgencyAnswer]) -> None:
    answer = check()
    assert answer.outcome is Outcome.GRANTED
    assert answer.permit_number and answer.permit_number.startswith("KZ-POL-")
    assert str(answer.valid_until) == "2026-11-26"  # the day after the planned arrival
    assert answer.conditions == ()


@pytest.mark.parametrize(
    ("edit", "code", "said"),
    [
        (swap((b"<Plate>123ABC02</Plate>", b"<Plate>001STL02</Plate>")), "POL-VEHICLE-STOLEN",
         "001STL02 is on the stolen list"),
        (swap((b"<TrailerPlate>45AB02<", b"<TrailerPlate>77AB13<")), "POL-VEHICLE-STOLEN",
         "77AB13 is on the stolen list (trailer stolen in Shymkent)"),
        (licence("KZ17EF246810"), "POL-LICENCE-EXPIRED",
         "the driving licence KZ17EF246810 expired on 2021-03-30"),
        (licence("KZ05GH135790"), "POL-LICENCE-SUSPENDED", "KZ05GH135790 is suspended"),
        (licence("KZ09JK112233"), "POL-LICENCE-CATEGORY", "has no category C or CE"),
        (licence("KZ99ZZ000000"), "POL-LICENCE-UNKNOWN", "no driving licence KZ99ZZ000000"),
    ],
)  # fmt: skip
def test_stolen_vehicles_and_bad_licences_are_refused(
    check: Callable[..., AgencyAnswer], edit: Callable[[bytes], bytes], code: str, said: str
) -> None:
    answer = check(edit=edit)
    assert answer.outcome is Outcome.REFUSED
    assert [r.code for r in answer.reasons] == [code]
    assert said in answer.reasons[0].text
    assert answer.permit_number is None


def test_a_wanted_vehicle_is_stopped_for_a_police_check(check: Callable[..., AgencyAnswer]) -> None:
    answer = check(edit=swap((b"<Plate>123ABC02</Plate>", b"<Plate>404WNT05</Plate>")))
    assert answer.outcome is Outcome.INSPECTION
    assert answer.inspection == (
        "police check at KZ-NURZHOLY: 404WNT05 is on the wanted list (sought as a vehicle "
        "involved in a road accident with casualties)"
    )


def test_a_foreign_licence_or_no_driver_is_checked_at_the_booth(
    check: Callable[..., AgencyAnswer],
) -> None:
    foreign = check(edit=licence("UZAB1234567", "UZ"))
    assert foreign.outcome is Outcome.GRANTED
    assert any("issued in UZ is checked at the entry booth" in c for c in foreign.conditions)
    start, end = b"<Driver>", b"</Driver>"

    def no_driver(raw: bytes) -> bytes:
        return raw[: raw.index(start)] + raw[raw.index(end) + len(end) :]

    anonymous = check(edit=no_driver)
    assert anonymous.outcome is Outcome.GRANTED
    assert anonymous.conditions == (
        "no driver declared: the driver shows a driving licence at the entry booth at KZ-NURZHOLY",
    )


def test_overweight_needs_a_special_permit(check: Callable[..., AgencyAnswer]) -> None:
    held = check("overweight-machinery-transit")
    assert held.outcome is Outcome.INSPECTION
    assert held.inspection == (
        "police escort to weighing at KZ-NURZHOLY: declared 41800 kg exceeds 38000 kg for 5 "
        "axles and no special permit for heavy carriage is declared (Order No. 206 of 27.02.2015)"
    )
    permit = (
        b"<Document><Type>special-permit</Type><Number>SP-206-0042</Number>"
        b"<Date>2026-11-20</Date></Document></Documents>"
    )
    allowed = check("overweight-machinery-transit", swap((b"</Documents>", permit)))
    assert allowed.outcome is Outcome.GRANTED
    assert allowed.conditions == (
        "heavy carriage under special permit SP-206-0042: keep to its route and escort conditions",
    )
