"""What the checkpoint's services need from storage, named after their use (issue 16 item 2).

- `NoticeBook` — the notice intake: who declared the listed applications; keep a notice version.
- `CheckpointUnits` — the gate, the officers' actions and transit monitoring: `unit()` opens one
  transaction (a `CheckpointUnit`) in which visits, device events, the carried applications'
  cases, transits and the trail are read and written together; it commits when the block ends and
  changes nothing when the block raises.
- `VisitHistory` — the timing report: the visits that exited.

gateway.storage.checkpoint implements them on the database; tests/fakes/checkpoint.py in memory.
Views are the frozen dataclasses of gateway.checkpoint.views. No SQL, Session or ORM row here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from gateway.checkpoint.exit_permit import AppDecision
from gateway.checkpoint.views import (
    ArrivalNotice,
    DeviceEventRecord,
    NoticeSaved,
    SeenEvent,
    TrackPoint,
    Transit,
    Visit,
)

if TYPE_CHECKING:
    from gateway.checkpoint.gate_rules import Finding
    from gateway.checkpoint.notices import Notice
    from gateway.trail.messages import Message


class LostRace(Exception):
    """Another transaction committed first what this one was about to write (a second open visit
    of the same vehicle, the same device event id): nothing of this unit was kept. Done again,
    the work sees the other's result."""


class NoticeBook(Protocol):
    def declarants(self, application_ids: Sequence[str]) -> dict[str, str]:
        """application id -> declarant BIN, for the ids that exist."""
        ...

    def save_notice(self, notice: Notice, body: bytes, signer: str) -> NoticeSaved:
        """Keep this version of the notice (the same bytes again: the first answer, created
        False), superseding the earlier version, with the signed bytes in the trail. Raises
        `NoticeConflict` for a version not above the latest, or once the vehicle has entered."""
        ...


class Visits(Protocol):
    def open_visit(self, checkpoint: str, plate: str) -> Visit | None:
        """The vehicle's visit not yet exited (locked until the unit ends, where the database
        can)."""
        ...

    def visit(self, visit_id: str) -> Visit | None: ...

    def add(self, visit: Visit) -> None:
        """A new visit; `LostRace` (now or when the unit ends) if the vehicle has another open
        visit at this checkpoint."""
        ...

    def save(self, visit: Visit) -> None:
        """Keep the changes a service made (with `dataclasses.replace`) to a visit it read."""
        ...

    def active_notices(self, checkpoint: str, plate: str) -> list[ArrivalNotice]:
        """The vehicle's notices for this checkpoint not yet used nor superseded, oldest first."""
        ...

    def notice(self, notice_id: str) -> ArrivalNotice: ...

    def use_notice(self, notice_id: str) -> None:
        """The vehicle entered under this notice: it can no longer be amended."""
        ...


class DeviceEvents(Protocol):
    def seen(self, event_id: str) -> SeenEvent | None: ...

    def add(self, event: DeviceEventRecord) -> None:
        """`LostRace` (now or when the unit ends) if the event id was taken meanwhile."""
        ...


class CarriedApplications(Protocol):
    """The applications a vehicle carries, as the gate reads and changes them."""

    def decisions(self, application_ids: Sequence[str]) -> list[AppDecision]: ...

    def decided_at(self, application_ids: Sequence[str]) -> dt.datetime | None:
        """When the last of the applications was decided; None while any is undecided."""
        ...

    def inspect(self, application_id: str, finding: Finding) -> str | None:
        """The finding's agency's case of this application goes to inspection (where, why); a
        case is opened for an agency the routing did not involve. The decision is composed and
        signed again; returns the verdict if a decision was (re)written."""
        ...

    def settle_inspection(
        self, application_id: str, agency: str, *, cleared: bool, officer: str, note: str
    ) -> str | None:
        """An officer's inspection result: the agency's case is granted again, or refused; the
        decision is composed again (the verdict, if one was written)."""
        ...


class Transits(Protocol):
    def add(self, transit: Transit) -> None: ...

    def transit(self, transit_id: str) -> Transit | None: ...

    def open_to(self, checkpoint: str, plate: str) -> Transit | None:
        """The vehicle's open transit that ends at `checkpoint`."""
        ...

    def open_of(self, plate: str) -> Transit | None: ...

    def all_open(self) -> list[Transit]: ...

    def save(self, transit: Transit) -> None:
        """Keep the changes made (with `dataclasses.replace`) to a transit read in this unit."""
        ...

    def add_position(self, transit_id: str, point: TrackPoint) -> None: ...

    def track(self, transit_id: str) -> tuple[TrackPoint, ...]:
        """The transit's accepted fixes, in time order."""
        ...


class CheckpointUnit(Protocol):
    """One transaction of the checkpoint (see `CheckpointUnits`)."""

    @property
    def visits(self) -> Visits: ...

    @property
    def events(self) -> DeviceEvents: ...

    @property
    def applications(self) -> CarriedApplications: ...

    @property
    def transits(self) -> Transits: ...

    def record(self, application_id: str | None, message: Message) -> None:
        """Store a message byte-exact and append it to the trail, with the rest of this unit."""
        ...

    def tell_exit(self, application_ids: Sequence[str], detail: dict[str, object]) -> None:
        """Owe each application's trader the `checkpoint.exit` progress event (if it chose it),
        with the rest of this unit."""
        ...


class CheckpointUnits(Protocol):
    def unit(self) -> AbstractContextManager[CheckpointUnit]:
        """One transaction: commits at the end of the block, changes nothing if it raises;
        raises `LostRace` when a concurrent transaction won a unique key."""
        ...


class VisitHistory(Protocol):
    def exited_visits(self, checkpoint: str | None = None) -> list[Visit]:
        """Visits that exited after an advance notice (the electronic lanes), of one checkpoint
        or of all."""
        ...
