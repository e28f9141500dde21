"""Advance notification: a carrier's signed pre-arrival notice, through the same trusted intake.

`NoticeIntake.submit(body)` runs the numbered steps below (as gateway.intake.service does for applications)
and stores the notice, linking the vehicle to the applications it carries, or raises a
`GatewayError`. After step 3 only the element the signature covers is read. A notice with the same
carrier and reference and a higher version supersedes the earlier one; both stay in the trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from gateway.checkpoint.errors import SignerNotCarrier, UnknownApplication, UnknownCheckpoint
from gateway.checkpoint.registry import CheckpointRegistry
from gateway.clock import Clock
from gateway.domain.identifiers import Bin
from gateway.errors import InvalidValue, SchemaViolation
from gateway.i18n.library import library_words
from gateway.i18n.text import Text
from gateway.limits import INT32_MAX
from gateway.trust.certificates import TrustStore
from gateway.trust.representatives import Representatives
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped

if TYPE_CHECKING:
    from gateway.checkpoint.ports import NoticeBook
    from gateway.checkpoint.views import NoticeSaved

NS = "urn:kz:nsw:notice:1"
_N = {"n": NS}


@dataclass(frozen=True)
class Notice:
    carrier_bin: Bin
    reference: str
    version: int
    checkpoint: str
    expected_arrival: dt.datetime
    plate: str
    trailer_plate: str | None
    vehicle_country: str
    axles: int
    declared_gross_kg: Decimal
    driver_name: str
    driver_document: str
    driver_country: str
    applications: tuple[str, ...]
    corridor: str | None = None
    exit_checkpoint: str | None = None
    seal_id: str | None = None


def _text(node: etree._Element, path: str) -> str:
    found = node.find(path, _N)
    if found is None or found.text is None:
        raise SchemaViolation(Text("missing %(path)s", path=path))
    return str(found.text).strip()


def _opt(node: etree._Element, path: str) -> str | None:
    found = node.find(path, _N)
    return None if found is None or found.text is None else found.text.strip()


def read_notice(signed: etree._Element) -> Notice:
    """The typed notice from a schema-valid, signature-verified element."""
    try:
        carrier = Bin(_text(signed, "n:CarrierBIN"))
    except ValueError as exc:
        raise InvalidValue(Text("CarrierBIN: %(exc)s", exc=exc), field="CarrierBIN") from exc
    applications = tuple(
        (n.text or "").strip() for n in signed.iterfind("n:Applications/n:ApplicationId", _N)
    )
    if len(set(applications)) != len(applications):
        raise InvalidValue(Text("An application is listed twice in the notice."))
    # The schema's xs:positiveInteger and xs:dateTime are unbounded; the columns are not
    # (ArrivalNoticeRow.version is an Integer, expected_arrival a timestamp with a zone).
    version = int(_text(signed, "n:Version"))
    if version > INT32_MAX:
        raise InvalidValue(
            Text("Version must be at most %(INT32_MAX)s.", INT32_MAX=INT32_MAX), field="Version"
        )
    try:
        arrival = dt.datetime.fromisoformat(_text(signed, "n:ExpectedArrival"))
    except ValueError as exc:
        raise InvalidValue(
            Text("ExpectedArrival must be a date-time of years 1-9999."), field="ExpectedArrival"
        ) from exc
    if arrival.tzinfo is None:
        raise InvalidValue(
            Text("ExpectedArrival must carry its offset (Z or +05:00)."), field="ExpectedArrival"
        )
    return Notice(
        carrier_bin=carrier,
        reference=_text(signed, "n:NoticeReference"),
        version=version,
        checkpoint=_text(signed, "n:Checkpoint"),
        expected_arrival=arrival,
        plate=_text(signed, "n:Vehicle/n:Plate"),
        trailer_plate=_opt(signed, "n:Vehicle/n:TrailerPlate"),
        vehicle_country=_text(signed, "n:Vehicle/n:Country"),
        axles=int(_text(signed, "n:Vehicle/n:Axles")),
        declared_gross_kg=Decimal(_text(signed, "n:Vehicle/n:DeclaredGrossMassKg")),
        driver_name=_text(signed, "n:Driver/n:Name"),
        driver_document=_text(signed, "n:Driver/n:DocumentNumber"),
        driver_country=_text(signed, "n:Driver/n:Country"),
        applications=applications,
        corridor=_opt(signed, "n:Transit/n:Corridor"),
        exit_checkpoint=_opt(signed, "n:Transit/n:ExitCheckpoint"),
        seal_id=_opt(signed, "n:Transit/n:SealId"),
    )


def load_notice_schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


class NoticeIntake:
    def __init__(
        self,
        *,
        schema: etree.XMLSchema,
        trust: TrustStore,
        store: NoticeBook,
        registry: CheckpointRegistry,
        representatives: Representatives,
        corridors: frozenset[str],
        clock: Clock,
        max_bytes: int,
    ) -> None:
        self.schema = schema
        self.trust = trust
        self.store = store
        self.registry = registry
        self.representatives = representatives
        self.corridors = corridors
        self.clock = clock
        self.max_bytes = max_bytes

    def _validate(self, element: etree._Element) -> None:
        if not self.schema.validate(element):
            error = self.schema.error_log.last_error
            raise SchemaViolation(
                Text(
                    "Line %(line)s: %(message)s",
                    line=error.line,
                    message=library_words(error.message),
                ),
                line=error.line,
            )

    def submit(self, body: bytes) -> NoticeSaved:
        now = self.clock()
        # Step 1: the hardened parser (size cap, no DTD, no entities, no network).
        root = parse_xml(body, max_bytes=self.max_bytes)
        # Step 2: the notice schema, on the document as sent.
        self._validate(root)
        # Step 3: the signature and the signer's certificate; from here on only `signed` is read.
        verified = verify_enveloped(root, self.trust, now=now)
        self._validate(verified.signed)
        # Step 4: typed values (BIN check digit), a known checkpoint and corridor.
        notice = read_notice(verified.signed)
        for code in filter(None, (notice.checkpoint, notice.exit_checkpoint)):
            if self.registry.checkpoint(code) is None:
                raise UnknownCheckpoint(
                    Text("There is no electronic checkpoint %(code)s.", code=code)
                )
        if notice.corridor is not None and notice.corridor not in self.corridors:
            raise InvalidValue(
                Text(
                    "There is no transit corridor %(corridor)r; known: %(corridors)s.",
                    corridor=notice.corridor,
                    corridors=sorted(self.corridors),
                )
            )
        # Step 5: every listed application exists.
        declarants = self.store.declarants(notice.applications)
        missing = [a for a in notice.applications if a not in declarants]
        if missing:
            raise UnknownApplication(
                Text(
                    "The notice names applications the gateway does not know: %(list)s. Lodge the "
                    "applications first, then notify the vehicle.",
                    list=", ".join(missing),
                ),
                missing=missing,
            )
        # Step 6: the signer is the carrier, its registered representative, or the declarant of
        # every application the vehicle carries.
        signer_bin = verified.signer.bin
        carrier = str(notice.carrier_bin)
        allowed = signer_bin is not None and (
            signer_bin == carrier
            or self.representatives.may_act_for(signer_bin, carrier)
            or all(d == signer_bin for d in declarants.values())
        )
        if not allowed:
            raise SignerNotCarrier(
                Text(
                    "The notice is signed with a certificate of BIN %(signer_bin)s, but the "
                    "carrier is BIN %(carrier)s. Sign with the carrier's certificate, as its "
                    "registered representative, or as the declarant of every application listed.",
                    signer_bin=signer_bin or "none",
                    carrier=carrier,
                )
            )
        # Step 7: persist, superseding an earlier version, with the bytes in the trail.
        return self.store.save_notice(notice, body, verified.signer.subject)
