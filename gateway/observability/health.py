"""Readiness as named checks: what `/readyz` answers.

A check returns "ok" or a short reason. A *required* check that is not ok makes the node not ready
(503: a load balancer takes it out); an *alarm* that is not ok leaves it ready but degraded (200: an
alarm every node shares, such as a refusing trail signer, is no reason to stop taking applications
everywhere). A check that raises is "failed: <exception type>", never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Check = Callable[[], str]
OK = "ok"


@dataclass(frozen=True)
class Readiness:
    status: str  # "ready" | "degraded" | "not-ready"
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return self.status != "not-ready"


@dataclass(frozen=True)
class Probes:
    required: Mapping[str, Check] = field(default_factory=dict)
    alarms: Mapping[str, Check] = field(default_factory=dict)

    def readiness(self) -> Readiness:
        required = {name: _run(check) for name, check in self.required.items()}
        alarms = {name: _run(check) for name, check in self.alarms.items()}
        if any(v != OK for v in required.values()):
            status = "not-ready"
        elif any(v != OK for v in alarms.values()):
            status = "degraded"
        else:
            status = "ready"
        return Readiness(status, {**required, **alarms})


def _run(check: Check) -> str:
    try:
        return check()
    except Exception as exc:  # a probe answers; why it failed is the answer
        return f"failed: {type(exc).__name__}"
