"""Routing: which agencies must act on an application, and why — rules as data in mappings/.

Pure domain code: `route(application, rules)` returns one `Route` per agency with every rule hit that
put it there, so the same result can be stored, shown to a trader and explained by `nsw route`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.domain.application import Application, GoodsItem
from gateway.errors import ConfigurationError
from gateway.i18n.text import Text


@dataclass(frozen=True)
class Rule:
    id: str
    agency: str
    scope: str  # "application" or "item"
    why: str
    procedures: frozenset[str] = frozenset()
    transport_modes: frozenset[str] = frozenset()
    hs_prefixes: tuple[str, ...] = ()
    origins: frozenset[str] = frozenset()

    def applies_to(self, application: Application) -> bool:
        if self.procedures and application.procedure not in self.procedures:
            return False
        return not (self.transport_modes and application.transport.mode not in self.transport_modes)

    def covers(self, item: GoodsItem) -> bool:
        if self.hs_prefixes and not item.hs_code.value.startswith(self.hs_prefixes):
            return False
        return not (self.origins and item.origin not in self.origins)


@dataclass(frozen=True)
class Hit:
    rule: str
    why: str
    item_line: int | None = None  # None: the rule applies to the whole application


@dataclass(frozen=True)
class Route:
    agency: str
    hits: tuple[Hit, ...] = field(default=())


def load_rules(path: Path) -> tuple[Rule, ...]:
    """Read routing rules from a TOML file; a malformed rule is a configuration error."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        rules = tuple(
            Rule(
                id=r["id"],
                agency=r["agency"],
                scope=r.get("scope", "item" if r.get("hs_prefixes") else "application"),
                why=r["why"],
                procedures=frozenset(r.get("procedures", ())),
                transport_modes=frozenset(r.get("transport_modes", ())),
                hs_prefixes=tuple(r.get("hs_prefixes", ())),
                origins=frozenset(r.get("origins", ())),
            )
            for r in raw.get("rule", [])
        )
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(
            Text("Routing rules in %(path)s cannot be read: %(exc)s", path=path, exc=exc)
        ) from exc
    for rule in rules:
        if rule.scope not in ("application", "item"):
            raise ConfigurationError(
                Text("Routing rule %(id)s: scope must be application or item.", id=rule.id)
            )
    return rules


def cites_permit_of(item: GoodsItem, agency: str) -> bool:
    """The default `covered`: the item cites a permit of `agency` (intake checks the permit)."""
    return item.permit is not None and item.permit.agency == agency


def route(
    application: Application,
    rules: Sequence[Rule],
    covered: Callable[[GoodsItem, str], bool] = cites_permit_of,
) -> tuple[Route, ...]:
    """Every agency that must act, in rule order, each with the hits that sent it there. An item
    that `covered` says a permit of the agency already covers is not sent to it (issue 20)."""
    hits: dict[str, list[Hit]] = {}
    for rule in rules:
        if not rule.applies_to(application):
            continue
        if rule.scope == "application":
            hits.setdefault(rule.agency, []).append(Hit(rule.id, rule.why))
            continue
        for item in application.items:
            if rule.covers(item) and not covered(item, rule.agency):
                hits.setdefault(rule.agency, []).append(Hit(rule.id, rule.why, item.line))
    return tuple(Route(agency, tuple(agency_hits)) for agency, agency_hits in hits.items())


def explain(application: Application, routes: Sequence[Route]) -> list[str]:
    """Lines a person reads: item by item, which rule sent it to which agency."""
    lines = []
    for r in routes:
        for hit in r.hits:
            if hit.item_line is None:
                lines.append(f"application -> {r.agency}: {hit.rule} ({hit.why})")
    for item in application.items:
        sent = [(r.agency, h) for r in routes for h in r.hits if h.item_line == item.line]
        label = f"item {item.line} {item.hs_code.value} {item.description!r} from {item.origin}"
        if item.permit is not None:
            lines.append(f"{label}: cites {item.permit.agency} permit {item.permit.permit_id}")
        if not sent and item.permit is None:
            lines.append(f"{label}: no item-level control")
        for agency, hit in sent:
            lines.append(f"{label} -> {agency}: {hit.rule} ({hit.why})")
    return lines
