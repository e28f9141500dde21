"""An amendment that changes what a goods item draws on a permit (issues 19 and 20), on both
databases: the old write-off is credited back and a released application draws the new
quantity at once, in the amendment's transaction; balances exact to the kilogram."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update

from devtools.payments_demo import citing
from gateway.billing.permits import PermitBook
from gateway.clock import system_clock
from gateway.domain.application import Application, read_application
from gateway.domain.identifiers import Bin, HsCode
from gateway.intake.permit_citations import PermitCitationInvalid
from gateway.intake.ports import CitedPermit, NewApplication
from gateway.lifecycle.ports import NewVersion
from gateway.payments.errors import PermitBalanceExceeded
from gateway.payments.permits import Permit, Quantity
from gateway.storage.db import make_engine
from gateway.storage.models import ApplicationRow
from gateway.storage.outbox import OutboxStore
from gateway.storage.permits import PermitStore
from gateway.storage.versions import VersionStore
from gateway.trust.xmlparse import parse_xml
from tests.payments.permit_rows import TODAY

SAMPLE = Path(__file__).parents[2] / "samples" / "chilled-lamb-import.xml"
ALTYN = "190340025677"  # the lamb sample's declarant
LAMB_HS = "0204100000"


@dataclass
class Stores:
    outbox: OutboxStore
    versions: VersionStore
    permits: PermitBook

    def kinds(self, application_id: str) -> list[str]:
        return [m.kind for m in self.outbox.messages(application_id)]

    def balance(self) -> Decimal:
        return self.permits.permit("VET-L").balance.value

    def live_write_offs(self) -> list[tuple[str, Decimal]]:
        return [
            (w.application_id, w.quantity)
            for w in self.permits.permits.write_offs("VET-L")
            if w.credited_back_at is None
        ]


@pytest.fixture
def stores(database_url: str) -> Iterator[Stores]:
    engine = make_engine(database_url)
    permits = PermitBook(PermitStore(engine, system_clock), system_clock)
    permits.grant(
        Permit(
            permit_id="VET-L", agency="veterinary", holder=Bin(ALTYN), hs_code=HsCode(LAMB_HS),
            description="Lamb carcasses", granted=Quantity(Decimal("10000"), "kg"),
            valid_from=TODAY - dt.timedelta(days=30), valid_until=TODAY + dt.timedelta(days=60),
        ),
        None,
    )  # fmt: skip
    yield Stores(OutboxStore(engine, system_clock), VersionStore(engine, system_clock), permits)
    engine.dispose()


def lamb(kg: str, permit_id: str = "VET-L") -> Application:
    """The lamb sample, `kg` of it, its one item citing `permit_id`."""
    body = citing(SAMPLE.read_bytes(), permit_id, "R", kg)
    return read_application(parse_xml(body))


def lodge(stores: Stores, kg: str, released: bool) -> None:
    stores.outbox.create_application(
        NewApplication(
            id="APP-1", declarant_bin=ALTYN, trader_reference="REF-APP-1", procedure="import",
            body=b"<Application/>", signer_subject="CN=test", signer_fingerprint="00" * 32,
            routing={"customs": []},
            citations=(CitedPermit(1, "veterinary", "VET-L", LAMB_HS, Decimal(kg), "kg"),),
        ),
        [],
    )  # fmt: skip
    if released:  # as its release does: the write-off, then released_at
        stores.permits.write_off("APP-1")
        with stores.outbox.engine.begin() as c:
            c.execute(
                update(ApplicationRow)
                .where(ApplicationRow.id == "APP-1")
                .values(released_at=dt.datetime.now(dt.UTC))
            )


def amend(stores: Stores, application: Application) -> None:
    stores.versions.amend(
        NewVersion(
            application_id="APP-1", version=2, body=b"<Application version='2'/>",
            signer_subject="CN=test", routing={"customs": []},
            changes=("Goods item 1: quantity changed",), untouched=("customs",),
            application=application,
        ),
        [],
        lambda subject, cases: None,
    )  # fmt: skip


def test_amending_a_released_application_credits_back_and_draws_the_new_quantity(
    stores: Stores,
) -> None:
    lodge(stores, "6000", released=True)
    assert stores.balance() == Decimal("4000")

    amend(stores, lamb("4500.5"))

    assert stores.balance() == Decimal("5499.5")
    assert stores.live_write_offs() == [("APP-1", Decimal("4500.5"))]
    permit = stores.permits.permit("VET-L")
    assert permit.granted.value == permit.balance.value + permit.written_off.value
    kinds = stores.kinds("APP-1")
    assert kinds.count("permit-credit-back") == 1 and kinds.count("permit-write-off") == 2


def test_an_amendment_beyond_the_balance_holds_the_released_application(stores: Stores) -> None:
    lodge(stores, "6000", released=True)

    amend(stores, lamb("10000.001"))

    assert stores.balance() == Decimal("10000")  # credited back, nothing drawn
    assert [h.code for h in stores.permits.holds("APP-1")] == ["permit-balance-exceeded"]
    assert "permit-write-off-refused" in stores.kinds("APP-1")


def test_amending_an_unreleased_application_draws_nothing_until_its_release(
    stores: Stores,
) -> None:
    lodge(stores, "6000", released=False)

    amend(stores, lamb("7000"))

    assert stores.balance() == Decimal("10000")
    stores.permits.write_off("APP-1")  # its release
    assert stores.balance() == Decimal("3000")


def test_an_amendment_that_keeps_the_citation_gives_nothing_back(stores: Stores) -> None:
    lodge(stores, "6000", released=True)

    amend(stores, lamb("6000"))

    assert stores.balance() == Decimal("4000")
    assert "permit-credit-back" not in stores.kinds("APP-1")


def test_an_amendment_citing_an_unknown_permit_is_refused_and_changes_nothing(
    stores: Stores,
) -> None:
    lodge(stores, "6000", released=True)

    with pytest.raises(PermitCitationInvalid, match="VET-X"):
        amend(stores, lamb("6000", permit_id="VET-X"))

    current = stores.versions.current("APP-1")
    assert current is not None and current.version == 1
    assert stores.balance() == Decimal("4000")


def test_an_amendment_drawing_less_releases_the_units_to_an_application_held_for_them(
    stores: Stores,
) -> None:
    lodge(stores, "6000", released=True)
    stores.outbox.create_application(
        NewApplication(
            id="APP-2", declarant_bin=ALTYN, trader_reference="REF-APP-2", procedure="import",
            body=b"<Application/>", signer_subject="CN=test", signer_fingerprint="00" * 32,
            routing={"customs": []},
            citations=(CitedPermit(1, "veterinary", "VET-L", LAMB_HS, Decimal("6000"), "kg"),),
        ),
        [],
    )  # fmt: skip
    with pytest.raises(PermitBalanceExceeded):
        stores.permits.write_off("APP-2")  # released too (paid), but held: 4000 kg left
    with stores.outbox.engine.begin() as c:
        c.execute(
            update(ApplicationRow)
            .where(ApplicationRow.id == "APP-2")
            .values(released_at=dt.datetime.now(dt.UTC))
        )
    assert [h.code for h in stores.permits.holds("APP-2")] == ["permit-balance-exceeded"]

    amend(stores, lamb("4000"))  # APP-1 draws 2000 kg less: 6000 kg are free for APP-2

    assert stores.permits.holds("APP-2") == []
    assert sorted(stores.live_write_offs()) == [
        ("APP-1", Decimal("4000")),
        ("APP-2", Decimal("6000")),
    ]
    assert stores.balance() == Decimal("0")
    assert "permit-hold-cleared" in stores.kinds("APP-2")
