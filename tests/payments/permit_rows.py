"""Permits and citing applications stored without agencies or intake (both databases)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gateway.billing.permits import PermitBook
from gateway.clock import system_clock
from gateway.domain.identifiers import Bin, HsCode
from gateway.intake.ports import CitedPermit, NewApplication
from gateway.payments.permits import Permit, Quantity
from gateway.storage.outbox import OutboxStore
from gateway.storage.permits import PermitStore

TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=5))).date()  # the day in Kazakhstan
STEPPE = "210540012341"  # Steppe Agro LLP in the dev PKI
ALTYN = "190340025677"
HS = "0201100001"


def vet_permit(
    permit_id: str = "VET-1",
    granted: str = "10",
    holder: str = STEPPE,
    valid_until: dt.date | None = None,
) -> Permit:
    return Permit(
        permit_id=permit_id,
        agency="veterinary",
        holder=Bin(holder),
        hs_code=HsCode(HS),
        description="Beef carcasses, fresh",
        granted=Quantity(Decimal(granted), "t"),
        valid_from=TODAY - dt.timedelta(days=30),
        valid_until=valid_until or TODAY + dt.timedelta(days=60),
    )


def lodge_citing(
    store: OutboxStore,
    app_id: str,
    quantity: str,
    permit_id: str = "VET-1",
    declarant: str = STEPPE,
    consignee: str | None = None,
) -> None:
    """An application routed to customs alone whose one item cites `permit_id`; its body names
    only the `consignee` (the goods' owner), when given."""
    body = b"<Application/>"
    if consignee is not None:
        body = (
            f'<Application xmlns="urn:kz:nsw:application:1"><Consignee><BIN>{consignee}</BIN>'
            "</Consignee></Application>"
        ).encode()
    store.create_application(
        NewApplication(
            id=app_id, declarant_bin=declarant, trader_reference=f"REF-{app_id}",
            procedure="import", body=body, signer_subject="CN=test",
            signer_fingerprint="00" * 32, routing={"customs": []},
            citations=(CitedPermit(1, "veterinary", permit_id, HS, Decimal(quantity), "t"),),
        ),
        [],
    )  # fmt: skip


def book(database_url: str) -> tuple[PermitBook, OutboxStore]:
    from gateway.storage.db import make_engine

    engine = make_engine(database_url)
    store = OutboxStore(engine, system_clock)
    return PermitBook(PermitStore(engine, system_clock), system_clock), store
