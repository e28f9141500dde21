"""The lifecycle rules as data (mappings/lifecycle.toml): what an amendment may change in which
stage, which agencies look again, and when and why a trader may withdraw.

`plan_amendment` turns two versions of an application and their routes into an `AmendmentPlan`:
agencies newly routed (a new case), no longer routed (their case cancelled), routed before and now
whose part changed (their case reopened with the amendment) and untouched (their permits stand).
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.errors import ConfigurationError
from gateway.fanout.routing import Route
from gateway.i18n.text import Text
from gateway.lifecycle.changes import Change, matches

IDENTITY = frozenset({"declarant", "trader_reference", "procedure"})


class Stage(enum.StrEnum):
    IN_PROGRESS = "in-progress"  # lodged, no decision yet
    DECIDED = "decided"  # a decision was issued; the vehicle has not exited
    EXITED = "exited"  # the vehicle left through the checkpoint
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class LifecycleRules:
    amendable: Mapping[Stage, tuple[str, ...]]  # field patterns, by stage
    recheck: Mapping[str, tuple[str, ...]]  # agency -> field patterns
    withdraw_from: frozenset[Stage]
    withdraw_reasons: Mapping[str, str]  # code -> sentence


@dataclass(frozen=True)
class Refusal:
    """Why an amendment or withdrawal cannot be taken, in a sentence a trader can act on."""

    code: str  # "identity-changed", "not-amendable-now", "field-not-amendable", ...
    detail: str


@dataclass(frozen=True)
class AmendmentPlan:
    changes: tuple[Change, ...]
    added: tuple[str, ...] = ()  # agencies with a new case
    cancelled: tuple[str, ...] = ()  # agencies whose case is cancelled
    reopened: tuple[str, ...] = ()  # agencies that re-check
    untouched: tuple[str, ...] = ()  # agencies whose case and permit stand
    why: Mapping[str, tuple[Change, ...]] = field(default_factory=dict)  # reopened -> changes

    @property
    def affected(self) -> tuple[str, ...]:
        return self.added + self.cancelled + self.reopened


def load_lifecycle_rules(path: Path, agencies: Iterable[str]) -> LifecycleRules:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        amend = {Stage(stage): tuple(patterns) for stage, patterns in doc["amend"].items()}
        recheck = {str(a): tuple(p) for a, p in doc.get("recheck", {}).items()}
        withdraw = doc["withdraw"]
        withdraw_from = frozenset(Stage(s) for s in withdraw["allowed"])
        reasons = {str(code): str(text) for code, text in withdraw["reasons"].items()}
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as exc:
        raise ConfigurationError(
            Text("%(path)s: the lifecycle rules cannot be read (%(exc)s).", path=path, exc=exc)
        ) from exc
    unknown = sorted(set(recheck) - set(agencies))
    if unknown:
        raise ConfigurationError(
            Text(
                "%(path)s: [recheck] names agencies the register does not have: %(list)s.",
                path=path,
                list=", ".join(unknown),
            )
        )
    if not reasons:
        raise ConfigurationError(Text("%(path)s: [withdraw.reasons] lists no reason.", path=path))
    return LifecycleRules(amend, recheck, withdraw_from, reasons)


def _covered(change: Change, patterns: Sequence[str]) -> bool:
    return any(matches(change.field, p) for p in patterns)


def check_amendable(
    changes: Sequence[Change], stage: Stage, rules: LifecycleRules
) -> Refusal | None:
    """None when every change may be made in `stage`, else the first reason it may not."""
    if not changes:
        return Refusal(
            "nothing-changed", Text("The amendment changes nothing: it is the same application.")
        )
    identity = [c for c in changes if c.field in IDENTITY]
    if identity:
        c = identity[0]
        return Refusal(
            "identity-changed",
            Text(
                "An amendment cannot change the %(field)s (%(before)s -> %(after)s); withdraw "
                "this application and lodge a new one.",
                field=c.field.replace("_", " "),
                before=c.before,
                after=c.after,
            ),
        )
    allowed = rules.amendable.get(stage, ())
    if not allowed:
        return Refusal(
            "not-amendable-now",
            Text("An application that is %(stage)s cannot be amended.", stage=stage.value),
        )
    for change in changes:
        if not _covered(change, allowed):
            return Refusal(
                "field-not-amendable",
                Text(
                    "%(change)s cannot be changed once the application is %(stage)s.",
                    change=change.sentence(),
                    stage=stage.value,
                ),
            )
    return None


def _item_lines(route: Route | None) -> set[int] | None:
    """The item lines routed to an agency; None when the whole application is (a rule of scope
    "application" hit it)."""
    if route is None:
        return set()
    if any(h.item_line is None for h in route.hits):
        return None
    return {h.item_line for h in route.hits if h.item_line is not None}


def _concerns(change: Change, lines: set[int] | None) -> bool:
    if change.item_line is None or lines is None:
        return True
    return change.item_line in lines


def plan_amendment(
    changes: Sequence[Change],
    old_routes: Sequence[Route],
    new_routes: Sequence[Route],
    rules: LifecycleRules,
) -> AmendmentPlan:
    old = {r.agency: r for r in old_routes}
    new = {r.agency: r for r in new_routes}
    added = tuple(a for a in new if a not in old)
    cancelled = tuple(a for a in old if a not in new)
    reopened: list[str] = []
    untouched: list[str] = []
    why: dict[str, tuple[Change, ...]] = {}
    for agency in (a for a in new if a in old):
        patterns = rules.recheck.get(agency, ("*",))
        lines_before, lines_now = _item_lines(old[agency]), _item_lines(new[agency])
        lines = None if lines_before is None or lines_now is None else lines_before | lines_now
        relevant = tuple(c for c in changes if _covered(c, patterns) and _concerns(c, lines))
        if relevant or lines_before != lines_now:
            reopened.append(agency)
            why[agency] = relevant
        else:
            untouched.append(agency)
    return AmendmentPlan(tuple(changes), added, cancelled, tuple(reopened), tuple(untouched), why)


def check_withdrawable(stage: Stage, reason: str, rules: LifecycleRules) -> Refusal | None:
    if reason not in rules.withdraw_reasons:
        return Refusal(
            "unknown-reason",
            Text(
                "%(reason)r is not a withdrawal reason; use one of %(reasons)s.",
                reason=reason,
                reasons=", ".join(sorted(rules.withdraw_reasons)),
            ),
        )
    if stage not in rules.withdraw_from:
        because = {
            Stage.EXITED: Text("the vehicle has already exited through the checkpoint"),
            Stage.WITHDRAWN: Text("it was already withdrawn"),
        }.get(stage) or Text("it is %(stage)s", stage=stage.value)
        return Refusal(
            "not-withdrawable-now",
            Text("The application cannot be withdrawn: %(because)s.", because=because),
        )
    return None
