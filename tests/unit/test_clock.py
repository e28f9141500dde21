"""`gateway.clock.iso`: the text every document the gateway writes carries for a moment."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from gateway.clock import iso, system_clock


def rfc3339_as_before(moment: dt.datetime) -> str:
    """The one formula iso used for every moment (its UTC moments now take a shorter way)."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


ALMATY = zoneinfo.ZoneInfo("Asia/Almaty")
MOMENTS = [
    dt.datetime(2026, 11, 23, 9, 5, 7, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 23, 9, 5, 7, 999_999, tzinfo=dt.UTC),  # cut, never rounded up
    dt.datetime(2026, 12, 31, 23, 59, 59, 500_000, tzinfo=dt.UTC),
    dt.datetime(1, 1, 1, tzinfo=dt.UTC),  # years below 1000 keep four digits
    dt.datetime(999, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
    dt.datetime(2024, 2, 29, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 23, 9, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=5))),
    dt.datetime(2026, 11, 23, 2, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
    dt.datetime(2026, 11, 23, 9, 5, 7, 123, tzinfo=ALMATY),
    dt.datetime(2026, 11, 23, 9, 5, 7, tzinfo=zoneinfo.ZoneInfo("UTC")),  # a UTC not dt.UTC
    dt.datetime(2026, 11, 23, 9, 5, 7, 1, fold=1, tzinfo=dt.UTC),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=[m.isoformat() for m in MOMENTS])
def test_iso_writes_every_moment_as_the_rfc3339_formula_does(moment: dt.datetime) -> None:
    assert iso(moment) == rfc3339_as_before(moment)


def test_iso_of_the_clock_is_utc_to_the_second() -> None:
    now = system_clock()
    assert iso(now) == rfc3339_as_before(now)
    assert iso(dt.datetime(2026, 11, 23, 14, 5, 7, tzinfo=ALMATY)) == "2026-11-23T09:05:07Z"
