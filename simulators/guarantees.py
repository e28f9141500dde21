"""The customs stand-in's register of guarantees (issue 20): security for payment that customs
knows, for CheckGuarantee (wsdl/customs/customs.wsdl).

Simulator data, not a real register: the references, guarantors and amounts are invented. A
guarantee secures one application: accepted once, it is reserved for that application (asked
again for it, the same answer), and refused as `already-used` for any other. Reference
customs-payments-kz.md section 8 (rows 45-47, C): a bank guarantee or a surety is a method of
security; the real register's rules (penalties included in the amount, row 47) are not modelled.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass

BANK_BIN = "960340000158"  # an invented second-tier bank (valid check digit)
SURETY_BIN = "991140000015"  # an invented surety company (valid check digit)
# A series each issuer has open: any reference of it is a valid guarantee of 100 000 000 KZT
# for a year (tests take a fresh one each, as the stand-in outlives a test).
SERIES = {
    re.compile(r"KZ-BG-9[0-9]{3,12}"): BANK_BIN,
    re.compile(r"KZ-SR-9[0-9]{3,12}"): SURETY_BIN,
}


@dataclass(frozen=True)
class Registered:
    reference: str
    guarantor_bin: str
    amount_minor: int
    currency: str
    valid_until: dt.date


def starting_register(today: dt.date) -> dict[str, Registered]:
    """The guarantees customs knows on `today`: two that secure a large amount, one too small
    for any import declaration's charges, one that expired yesterday."""
    year = today + dt.timedelta(days=365)
    entries = [
        Registered("KZ-BG-0001", BANK_BIN, 100_000_000_00, "KZT", year),
        Registered("KZ-BG-0002", BANK_BIN, 100_000_000_00, "KZT", year),
        Registered("KZ-SR-0003", SURETY_BIN, 100_000_000_00, "KZT", year),
        Registered("KZ-BG-0010", BANK_BIN, 10_000_00, "KZT", year),  # too small
        Registered("KZ-BG-0020", BANK_BIN, 100_000_000_00, "KZT", today - dt.timedelta(days=1)),
    ]
    return {e.reference: e for e in entries}


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    code: str | None = None
    reason: str | None = None


class GuaranteeRegister:
    """Thread-safe: two applications asking for the same guarantee at once get one acceptance."""

    def __init__(self, today: dt.date | None = None) -> None:
        self.entries = starting_register(today or dt.date.today())
        self.used_by: dict[str, str] = {}
        self._lock = threading.Lock()

    def check(
        self,
        *,
        application_id: str,
        reference: str,
        guarantor_bin: str,
        owed_minor: int,
        owed_currency: str,
        today: dt.date,
    ) -> Verdict:
        with self._lock:
            entry = self.entries.get(reference) or _of_series(reference, today)
            if entry is None or entry.guarantor_bin != guarantor_bin:
                return Verdict(False, "unknown", f"customs has no guarantee {reference} of "
                               f"guarantor {guarantor_bin} in its register")  # fmt: skip
            if entry.valid_until < today:
                return Verdict(False, "expired", f"guarantee {reference} expired on "
                               f"{entry.valid_until.isoformat()}")  # fmt: skip
            if entry.currency != owed_currency or entry.amount_minor < owed_minor:
                return Verdict(False, "insufficient-amount", f"guarantee {reference} secures "
                               f"{entry.amount_minor} {entry.currency} (minor units); "
                               f"{owed_minor} {owed_currency} is owed")  # fmt: skip
            holder = self.used_by.get(reference)
            if holder is not None and holder != application_id:
                return Verdict(False, "already-used", f"guarantee {reference} already secures "
                               f"application {holder}")  # fmt: skip
            self.used_by[reference] = application_id
            return Verdict(True)

    def release(self, *, application_id: str, reference: str) -> bool:
        """ReleaseGuarantee (issue 20): the reservation for `application_id` is gone; True when
        there was one (False: customs held none for it, or another application holds it)."""
        with self._lock:
            if self.used_by.get(reference) != application_id:
                return False
            del self.used_by[reference]
            return True


def _of_series(reference: str, today: dt.date) -> Registered | None:
    for pattern, issuer in SERIES.items():
        if pattern.fullmatch(reference):
            year = today + dt.timedelta(days=365)
            return Registered(reference, issuer, 100_000_000_00, "KZT", year)
    return None
