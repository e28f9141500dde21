"""Rules at the gate: readings -> findings (which agency, which lane, why). Pure functions.

Thresholds and texts come from mappings/gate_rules.toml; each rule names one of the `CHECKS` below.
A check returns a detail sentence when the rule fires, or None.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.checkpoint.registry import STAGES
from gateway.errors import ConfigurationError
from gateway.i18n.text import Text


@dataclass(frozen=True)
class Declared:
    """What the notice declared about the vehicle (None when it arrived without one)."""

    gross_mass_kg: float
    axles: int


@dataclass(frozen=True)
class GateRule:
    id: str
    stage: str
    check: str
    agency: str
    lane: str
    why: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    rule: str
    stage: str
    agency: str
    lane: str
    why: str
    detail: str

    @property
    def inspection(self) -> str:
        """The text the agency's case carries: where, and why."""
        return f"{self.lane}: {self.why} {self.detail}"


Check = Callable[[Mapping[str, Any], Mapping[str, Any], Declared | None], str | None]


def _mass_over_declared(
    r: Mapping[str, Any], p: Mapping[str, Any], d: Declared | None
) -> str | None:
    if d is None:
        return None
    measured, declared = float(r["gross_mass_kg"]), d.gross_mass_kg
    tolerance = float(p["tolerance_percent"])
    off = abs(measured - declared) / declared * 100
    if off <= tolerance:
        return None
    return f"Measured {measured:.0f} kg, declared {declared:.0f} kg ({off:.1f} % > {tolerance} %)."


def _mass_over_limit(r: Mapping[str, Any], p: Mapping[str, Any], d: Declared | None) -> str | None:
    limits = {int(k): float(v) for k, v in p["max_gross_kg_by_axles"].items()}
    axles = len(r["axle_loads_kg"]) or (d.axles if d else 0)
    limit = limits.get(axles) if axles < max(limits) else limits[max(limits)]
    measured = float(r["gross_mass_kg"])
    if limit is None or measured <= limit:
        return None
    return f"Measured {measured:.0f} kg on {axles} axles; the limit is {limit:.0f} kg."


def _axle_over_limit(r: Mapping[str, Any], p: Mapping[str, Any], d: Declared | None) -> str | None:
    limit = float(p["max_single_axle_kg"])
    over = [(i + 1, float(v)) for i, v in enumerate(r["axle_loads_kg"]) if float(v) > limit]
    if not over:
        return None
    return "Axle " + ", ".join(f"{i}: {v:.0f} kg" for i, v in over) + f" (limit {limit:.0f} kg)."


def _dimensions_over_limit(
    r: Mapping[str, Any], p: Mapping[str, Any], d: Declared | None
) -> str | None:
    over = [
        f"{name} {float(r[f'{name}_m']):.2f} m > {float(p[f'max_{name}_m']):.2f} m"
        for name in ("length", "width", "height")
        if float(r[f"{name}_m"]) > float(p[f"max_{name}_m"])
    ]
    return ("; ".join(over) + ".") if over else None


def _radiation_alarm(r: Mapping[str, Any], p: Mapping[str, Any], d: Declared | None) -> str | None:
    dose, background = float(r["dose_usv_h"]), float(r["background_usv_h"])
    high = background > 0 and dose > background * float(p["dose_factor"])
    if not (r["alarm"] or high):
        return None
    return f"Dose {dose:.3f} uSv/h against background {background:.3f} uSv/h."


def _scanner_anomaly(r: Mapping[str, Any], p: Mapping[str, Any], d: Declared | None) -> str | None:
    if not r["anomaly"]:
        return None
    return str(r.get("note") or "Anomaly flagged by the scanner operator.")


def _documents_missing(
    r: Mapping[str, Any], p: Mapping[str, Any], d: Declared | None
) -> str | None:
    missing = sorted(set(p["required"]) - set(r["presented"]))
    return f"Missing: {', '.join(missing)}." if missing else None


CHECKS: dict[str, Check] = {
    "mass_over_declared": _mass_over_declared,
    "mass_over_limit": _mass_over_limit,
    "axle_over_limit": _axle_over_limit,
    "dimensions_over_limit": _dimensions_over_limit,
    "radiation_alarm": _radiation_alarm,
    "scanner_anomaly": _scanner_anomaly,
    "documents_missing": _documents_missing,
}
_RULE_KEYS = {"id", "stage", "check", "agency", "lane", "why"}


def load_gate_rules(path: Path) -> tuple[GateRule, ...]:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(
            Text("The gate rules %(path)s cannot be read: %(exc)s", path=path, exc=exc)
        ) from exc
    rules = []
    for entry in raw.get("rule", []):
        missing = _RULE_KEYS - set(entry)
        if missing or entry["check"] not in CHECKS or entry["stage"] not in STAGES:
            raise ConfigurationError(
                Text(
                    "%(path)s: rule %(rule)r needs %(keys)s, a check among %(checks)s and a stage "
                    "among %(stages)s",
                    path=path,
                    rule=entry.get("id"),
                    keys=sorted(_RULE_KEYS),
                    checks=sorted(CHECKS),
                    stages=list(STAGES),
                )
            )
        params = {k: v for k, v in entry.items() if k not in _RULE_KEYS}
        rules.append(GateRule(**{k: entry[k] for k in _RULE_KEYS}, params=params))
    return tuple(rules)


def evaluate(
    rules: tuple[GateRule, ...], stage: str, readings: Mapping[str, Any], declared: Declared | None
) -> list[Finding]:
    """Every finding the readings of `stage` raise, in rule order."""
    findings = []
    for rule in rules:
        if rule.stage != stage:
            continue
        detail = CHECKS[rule.check](readings, rule.params, declared)
        if detail is not None:
            findings.append(Finding(rule.id, stage, rule.agency, rule.lane, rule.why, detail))
    return findings
