"""What officers' actions read and write (`gateway.omc.ports.ActionRecords`); an action's change and
its trail entry are stored in one transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence

from gateway.clock import iso
from gateway.omc.ports import Alert, AlertAcknowledged, FindingRef, NoSuchAlert
from gateway.storage.models import CaseRow, CheckpointVisitRow, TransitRow
from gateway.storage.repository import Message, Store


class SqlActionRecords:
    def __init__(self, store: Store) -> None:
        self.store = store

    def case_agency(self, case_id: str) -> str | None:
        with self.store.transaction() as s:
            case = s.get(CaseRow, case_id)
            return None if case is None else case.agency

    def finding(self, visit_id: str, finding_id: str) -> FindingRef | None:
        with self.store.transaction() as s:
            visit = s.get(CheckpointVisitRow, visit_id)
            findings = json.loads(visit.findings) if visit is not None else []
        found = next((f for f in findings if f.get("id") == finding_id), None)
        if found is None:
            return None
        return FindingRef(visit_id, finding_id, str(found.get("agency", "")))

    def acknowledge_alert(
        self,
        transit_id: str,
        key: str,
        *,
        by: str,
        at: dt.datetime,
        trail: Callable[[Alert], Sequence[Message]],
    ) -> None:
        with self.store.transaction() as s:
            row = s.get(TransitRow, transit_id)
            alerts = json.loads(row.alerts) if row is not None else []
            alert = next((a for a in alerts if a.get("key") == key), None)
            if row is None or alert is None:
                raise NoSuchAlert(f"{transit_id}/{key}")
            if alert.get("acknowledged_by"):
                raise AlertAcknowledged(str(alert["acknowledged_by"]))
            alert |= {"acknowledged_by": by, "acknowledged_at": iso(at)}
            row.alerts = json.dumps(alerts)
            seen = Alert(transit_id, key, alert.get("kind"), row.plate, row.application_id)
            for message in trail(seen):
                self.store._add_message(s, row.application_id, message)
