"""How each agency's calls go, as this process sees them: latency and outcome of every `send`.

Calls are timed by wrapping each adapter at the port (the composition root does it; the dispatcher
is unchanged); unlike the circuit breakers (shared through the database), the figures are per
process. /metrics and the OMC's agencies page read them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from adapters.base import (
    AgencyAdapter,
    AgencyAnswer,
    AgencyRequest,
    AgencySpec,
    GuaranteeChecker,
)

WINDOW_S = 900.0  # percentiles and error rate over the last 15 minutes
MAX_SAMPLES = 2000


@dataclass
class _Agency:
    samples: deque[tuple[float, float, bool]] = field(
        default_factory=lambda: deque(maxlen=MAX_SAMPLES)
    )  # (monotonic time, seconds, ok)
    calls: int = 0
    errors: int = 0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


class AgencyTimings:
    def __init__(self) -> None:
        self._agencies: dict[str, _Agency] = {}
        self._lock = threading.Lock()

    def observe(self, agency: str, seconds: float, ok: bool) -> None:
        with self._lock:
            entry = self._agencies.get(agency)
            if entry is None:  # not `setdefault`: that would build an entry for every call
                entry = self._agencies[agency] = _Agency()
            entry.samples.append((time.monotonic(), seconds, ok))
            entry.calls += 1
            entry.errors += 0 if ok else 1

    def summary(self, agency: str) -> dict[str, Any]:
        """p50/p95 latency (s), error rate and call count over the window; totals since start."""
        cutoff = time.monotonic() - WINDOW_S
        with self._lock:
            entry = self._agencies.get(agency, _Agency())
            recent = [(s, ok) for at, s, ok in entry.samples if at >= cutoff]
            calls, errors = entry.calls, entry.errors
        latencies = [s for s, _ in recent]
        return {
            "p50_s": percentile(latencies, 0.50) if latencies else None,
            "p95_s": percentile(latencies, 0.95) if latencies else None,
            "error_rate": (sum(1 for _, ok in recent if not ok) / len(recent)) if recent else None,
            "recent_calls": len(recent),
            "calls_total": calls,
            "errors_total": errors,
        }


class TimedAdapter:
    """An adapter that reports each call's duration and outcome to `AgencyTimings`."""

    def __init__(self, inner: AgencyAdapter, timings: AgencyTimings) -> None:
        self.inner = inner
        self.spec: AgencySpec = inner.spec
        self._timings = timings

    def send(self, request: AgencyRequest) -> AgencyAnswer:
        started = time.monotonic()
        ok = False
        try:
            answer = self.inner.send(request)
            ok = True
            return answer
        finally:
            self._timings.observe(self.spec.code, time.monotonic() - started, ok)

    def read_answer(self, payload: Any, *, case_id: str, answer_bytes: bytes) -> AgencyAnswer:
        return self.inner.read_answer(payload, case_id=case_id, answer_bytes=answer_bytes)

    def close(self) -> None:
        """Close the inner adapter's kept-alive connections, if it keeps any."""
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()

    def guarantee_checker(self) -> GuaranteeChecker | None:
        """The inner adapter when its agency checks guarantees (customs, issue 20)."""
        return self.inner if isinstance(self.inner, GuaranteeChecker) else None


def timed(adapters: dict[str, AgencyAdapter], timings: AgencyTimings) -> dict[str, AgencyAdapter]:
    return {code: TimedAdapter(adapter, timings) for code, adapter in adapters.items()}
