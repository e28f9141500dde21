"""Answer mappings: an agency's answer -> `AgencyAnswer` (mappings/agencies/<code>/answer.json).

One file format for every agency; only the path language differs with the wire format: XPath 1.0
relative to the answer element for XML agencies, dotted keys for JSON agencies. The file says where
the case id, status, permit number, validity, conditions, reasons and inspection are, and how the
agency's status values map to `Outcome`. Anything the mapping cannot read is a `MalformedAnswer`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from lxml import etree

from adapters.base import AgencyAnswer, AssessedCharge, Outcome, Reason
from adapters.errors import MalformedAnswer


class Reader(Protocol):
    """Reads values out of one answer by the mapping's paths."""

    def scalar(self, path: str) -> str | None: ...
    def strings(self, path: str) -> list[str]: ...
    def each(self, path: str) -> list[Reader]: ...


class XmlReader:
    def __init__(self, element: etree._Element, namespaces: Mapping[str, str]) -> None:
        self._element = element
        self._ns = tuple(sorted(namespaces.items()))

    def _xpath(self, expr: str) -> Any:
        try:
            return _compiled(expr, self._ns)(self._element)
        except etree.XPathError as exc:
            raise MalformedAnswer(f"cannot evaluate {expr!r}: {exc}") from exc

    def scalar(self, path: str) -> str | None:
        return str(self._xpath(f"string({path})")).strip() or None

    def strings(self, path: str) -> list[str]:
        return [_node_text(node) for node in self._nodes(path)]

    def each(self, path: str) -> list[Reader]:
        return [XmlReader(node, dict(self._ns)) for node in self._nodes(path)]

    def _nodes(self, path: str) -> list[Any]:
        found = self._xpath(path)
        if not isinstance(found, list):
            raise MalformedAnswer(f"{path!r} does not select nodes")
        return found


@functools.lru_cache(maxsize=512)
def _compiled(expr: str, namespaces: tuple[tuple[str, str], ...]) -> etree.XPath:
    """`expr` compiled once: a mapping's few paths are evaluated for every answer. (lxml
    serialises calls of one XPath object with a lock of its own, so threads may share it.)"""
    return etree.XPath(expr, namespaces=dict(namespaces))


def _node_text(node: Any) -> str:
    if isinstance(node, etree._Element):
        return "".join(str(t) for t in node.itertext()).strip()
    return str(node).strip()


class JsonReader:
    def __init__(self, data: Any) -> None:
        self._data = data

    def _walk(self, path: str) -> Any:
        value = self._data
        for key in path.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    def scalar(self, path: str) -> str | None:
        value = self._walk(path)
        if value is None:
            return None
        if isinstance(value, bool | dict | list):
            raise MalformedAnswer(f"{path!r} is not a string or number")
        return str(value).strip() or None

    def strings(self, path: str) -> list[str]:
        value = self._walk(path)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise MalformedAnswer(f"{path!r} is not a list of strings")
        return [v.strip() for v in value]

    def each(self, path: str) -> list[Reader]:
        value = self._walk(path)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise MalformedAnswer(f"{path!r} is not a list of objects")
        return [JsonReader(v) for v in value]


PERMIT_MAX = 64
CHARGE_KINDS = ("customs-duty", "vat", "excise", "agency-fee")


class AnswerMapping:
    """A loaded answer.json. `read` is pure and safe to share across threads."""

    def __init__(self, path: Path) -> None:
        raw = json.loads(path.read_text(encoding="utf-8"))
        self.path = path
        # mappings/agencies/<code>/answer.json: the code of the agency whose answers these are.
        self.agency = path.parent.name
        self.namespaces: dict[str, str] = dict(raw.get("namespaces", {}))
        self._raw: dict[str, Any] = raw
        self._outcomes = {k: Outcome(v) for k, v in raw["status_values"].items()}
        for key in ("case_id", "status", "reasons"):
            if key not in raw:
                raise ValueError(f"{path}: the answer mapping needs {key!r}")

    def read(
        self, reader: Reader, *, case_id: str, request_bytes: bytes, answer_bytes: bytes
    ) -> AgencyAnswer:
        """The answer as an `AgencyAnswer`; raises `MalformedAnswer` if it is not believable
        (no or unknown status, an answer for another case, a bad date, a reason without code)."""
        raw = self._raw
        answered_case = reader.scalar(raw["case_id"])
        if answered_case != case_id:
            raise MalformedAnswer(f"the answer is for case {answered_case!r}, not {case_id!r}")
        status = reader.scalar(raw["status"])
        if status not in self._outcomes:
            raise MalformedAnswer(f"unknown status {status!r}")
        reasons = []
        for item in reader.each(raw["reasons"]["each"]):
            code, text = item.scalar(raw["reasons"]["code"]), item.scalar(raw["reasons"]["text"])
            if not code:
                raise MalformedAnswer("a reason without a code")
            reasons.append(Reason(code, text or code))
        extra = {key: v for key, path in raw.get("extra", {}).items() if (v := reader.scalar(path))}
        permit = self._optional(reader, "permit_number")
        if permit is not None and len(permit) > PERMIT_MAX:
            # The gateway keeps it in a String(64) column (CaseRow.permit_number): refused here,
            # as a malformed answer, rather than failing the database write later.
            raise MalformedAnswer(f"the permit number is longer than {PERMIT_MAX} characters")
        return AgencyAnswer(
            outcome=self._outcomes[status],
            request_bytes=request_bytes,
            answer_bytes=answer_bytes,
            permit_number=permit,
            valid_until=_date(self._optional(reader, "valid_until")),
            conditions=tuple(reader.strings(raw["conditions"])) if "conditions" in raw else (),
            reasons=tuple(reasons),
            inspection=self._optional(reader, "inspection"),
            agency_reference=self._optional(reader, "agency_reference"),
            extra=extra,
            charges=self._charges(reader),
        )

    def _charges(self, reader: Reader) -> tuple[AssessedCharge, ...]:
        """The answer's charges by the mapping's optional "charges" block; a charge the gateway
        could not put on a payment order (no kind, no whole positive amount, no currency, legal
        basis or due day) makes the whole answer malformed: money is never guessed."""
        paths = self._raw.get("charges")
        if not paths:
            return ()
        charges = []
        for item in reader.each(paths["each"]):
            kind, amount = item.scalar(paths["kind"]), item.scalar(paths["amount"])
            currency, basis = item.scalar(paths["currency"]), item.scalar(paths["legal_basis"])
            due = _date(item.scalar(paths["due"]))
            if not kind or kind not in CHARGE_KINDS:
                raise MalformedAnswer(f"a charge of unknown kind {kind!r}")
            if amount is None or not amount.isdigit() or int(amount) <= 0:
                raise MalformedAnswer(f"a charge amount {amount!r} is not whole minor units")
            if not currency or len(currency) != 3 or not currency.isupper():
                raise MalformedAnswer(f"a charge in {currency!r}, not an ISO 4217 code")
            if not basis or due is None:
                raise MalformedAnswer("a charge without its legal basis or due day")
            if "beneficiary" in paths and item.scalar(paths["beneficiary"]) != self.agency:
                # An agency assesses its own fees: a line for another beneficiary would move
                # money to a budget the answering agency does not speak for.
                raise MalformedAnswer(f"a charge for another beneficiary than {self.agency!r}")
            kbk = item.scalar(paths["kbk"]) if "kbk" in paths else None
            charges.append(AssessedCharge(kind, int(amount), currency, basis, due, kbk))
        return tuple(charges)

    def _optional(self, reader: Reader, key: str) -> str | None:
        path = self._raw.get(key)
        return reader.scalar(path) if path else None


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise MalformedAnswer(f"{text!r} is not a date (YYYY-MM-DD)") from exc
