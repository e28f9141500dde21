"""Stage timestamps for `fanout_bench.py --stages`: where an application's latency goes. Not a test.

Run instead of `python -m gateway.cli.main` (`python bench/_stages.py serve ...`): it wraps a few
of the gateway's functions with timestamp records, then runs the gateway as usual. Each record is
one JSON line `[wall time, stage, application id, agency, pid:thread, extra, thread CPU time]`
appended to the file named by
NSW_BENCH_STAGES. The gateway itself carries no tracing code; what is wrapped:

    intake        Intake.submit returned (the application and its outbox rows are committed)
    claimed       OutboxStore.claim_ready returned a delivery
    deliver       a dispatcher thread starts on a delivery
    answered      the agency's answer is in and verified (Dispatcher._settled starts)
    settle        OutboxStore.settle starts (queues for the write lock / the application's row)
    locked        the application's row is locked inside the settling transaction
    decide/signed the decision is composed and signed (only the settle that decides)
    settled       OutboxStore.settle returned (committed); agency "" and a verdict when it decided
    integrate     the trail integrator's batch transaction starts / ends (no application)
    lead          the integrator takes the leader's lock (PostgreSQL: the advisory lock its batch's
    released      write statement takes; SQLite: the write lock) / releases it: the one global
                  lock; its time per application is the serial section that caps decisions/s
                  whatever the number of processes

`stage_report` (used by the bench) turns the records and the bench's own send and visible times
into a per-stage breakdown of the critical path of each application.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV = "NSW_BENCH_STAGES"


def install(path: str) -> None:
    """Wrap the traced functions; records go to `path`."""
    from gateway.decision import document
    from gateway.fanout import dispatch
    from gateway.intake import service
    from gateway.storage import outbox, trail

    out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the life of the process
    lock = threading.Lock()

    def record(stage: str, app: str = "", agency: str = "", extra: str = "") -> None:
        thread = f"{os.getpid()}:{threading.current_thread().name}"  # several processes write
        cpu = time.thread_time()  # this thread's CPU: wall minus CPU is waiting (CPU, GIL, locks)
        line = json.dumps([time.time(), stage, app, agency, thread, extra, cpu])
        with lock:
            out.write(line + "\n")

    def wrap(owner: Any, name: str, around: Callable[..., Any]) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return around(original, *args, **kwargs)

        setattr(owner, name, wrapper)

    def submit(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        accepted = original(*args, **kwargs)
        record("intake", accepted.application_id)
        return accepted

    def claim_ready(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        turn = original(*args, **kwargs)
        for c in turn.claims:
            record("claimed", c.application_id, c.agency)
        return turn

    def deliver(original: Callable[..., Any], self: Any, c: Any) -> Any:
        record("deliver", c.application_id, c.agency)
        return original(self, c)

    def settled(original: Callable[..., Any], self: Any, c: Any, *args: Any) -> Any:
        record("answered", c.application_id, c.agency)
        return original(self, c, *args)

    def settle_all(original: Callable[..., Any], self: Any, answers: Any, *args: Any) -> Any:
        for a in answers:
            record("settle", a.claim.application_id, a.claim.agency)
        verdicts = original(self, answers, *args)
        for a, verdict in zip(answers, verdicts, strict=True):
            record("settled", a.claim.application_id, a.claim.agency, verdict or "")
        return verdicts

    def lock_application(original: Callable[..., Any], s: Any, app: str, now: Any) -> Any:
        result = original(s, app, now)
        record("locked", app)
        return result

    def make_decider(original: Callable[..., Any], *args: Any) -> Any:
        decide = original(*args)

        def traced(subject: Any, cases: Any) -> Any:
            decided = decide(subject, cases)
            if decided is not None:
                record("signed", subject.application_id)
            return decided

        return traced

    delay_s = float(os.environ.get("NSW_BENCH_INTEGRATE_DELAY_S", "0"))

    def integrate(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if delay_s:  # an experiment: the integrator batches what arrives meanwhile
            time.sleep(delay_s)
        record("integrate")
        done = original(*args, **kwargs)
        record("integrated", extra=str(done))
        return done

    wrap(service.Intake, "submit", submit)
    # The dispatcher claims with claim_ready (`claim` is SQLite's look, then claim_ready).
    wrap(outbox.OutboxStore, "claim_ready", claim_ready)
    wrap(dispatch.Dispatcher, "deliver", deliver)
    wrap(dispatch.Dispatcher, "_settled", settled)
    wrap(outbox.OutboxStore, "settle_all", settle_all)
    wrap(outbox, "lock_application", lock_application)
    wrap(document, "make_decider", make_decider)
    import gateway.bootstrap

    gateway.bootstrap.make_decider = document.make_decider  # imported by name there
    wrap(trail.StoredTrail, "integrate", integrate)

    # The leader's lock: on PostgreSQL the batch's one write statement takes it and its own
    # commit, in the server, releases it (`trail_batch_pg.locked_write`: timed from sending it
    # to reading its reply, an upper bound); on SQLite the write transaction's lock, from the
    # batch's first write statement to its commit (`StoredTrail._batch` returning).
    def place_pg(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        record("lead")
        led = True  # also when it fails: a stale batch fails after taking the lock
        try:
            row = original(*args, **kwargs)
            led = bool(row[0])  # False: another process's integrator held the lock
            return row
        finally:
            record("released" if led else "not-led")

    def place_sqlite(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        record("lead")
        return original(*args, **kwargs)

    def batch_sqlite(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        finally:
            record("released")

    wrap(trail.trail_batch_pg, "locked_write", place_pg)
    wrap(trail.trail_batch_sqlite, "place_batch", place_sqlite)
    wrap(trail.StoredTrail, "_batch", batch_sqlite)


# --- the report ---------------------------------------------------------------------------------


def read(path: Path) -> list[list[Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stage_report(
    records: list[list[Any]], sent: dict[str, float], visible: dict[str, float]
) -> str:
    """The critical path of each application, stage by stage: p50 / p99 / mean in ms."""
    by_app: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for t, stage, app, _agency, _thread, _extra, *_ in records:
        if app:
            by_app[app][stage].append(t)
    decided_at = {
        app: [r[0] for r in records if r[2] == app and r[1] == "settled" and r[5]] for app in by_app
    }
    steps: dict[str, list[float]] = defaultdict(list)
    order = [
        ("sent → intake committed", "sent", "intake"),
        ("intake → first claim (wake-up)", "intake", "first_claim"),
        ("first → last claim", "first_claim", "last_claim"),
        ("last claim → last answer (agency calls)", "last_claim", "last_answer"),
        ("last answer → its settle begins", "last_answer", "last_settle"),
        ("settle begins → row locked (lock wait)", "last_settle", "last_locked"),
        ("row locked → decision signed", "last_locked", "signed"),
        ("signed → decision committed", "signed", "decided"),
        ("decision committed → seen by the bench", "decided", "visible"),
        ("total: sent → seen", "sent", "visible"),
    ]
    for app, stages in by_app.items():
        if app not in sent or app not in visible or not decided_at.get(app):
            continue
        marks = {
            "sent": sent[app],
            "intake": min(stages["intake"], default=float("nan")),
            "first_claim": min(stages["claimed"], default=float("nan")),
            "last_claim": max(stages["claimed"], default=float("nan")),
            "last_answer": max(stages["answered"], default=float("nan")),
            "decided": min(decided_at[app]),
            "signed": min(stages["signed"], default=float("nan")),
            "visible": visible[app],
        }
        # The settle that decided: the last one to begin before the decision committed.
        begun = [t for t in stages["settle"] if t <= marks["decided"]]
        marks["last_settle"] = max(begun, default=float("nan"))
        locked = [t for t in stages["locked"] if marks["last_settle"] <= t <= marks["decided"]]
        marks["last_locked"] = min(locked, default=float("nan"))
        for label, a, b in order:
            steps[label].append((marks[b] - marks[a]) * 1000)
    lines = [
        f"  {'stage (critical path of each application)':<46} {'p50':>7} {'p99':>7} {'mean':>7}"
    ]
    for label, _a, _b in order:
        values = sorted(v for v in steps[label] if v == v)
        if not values:
            continue
        p99 = values[min(len(values) - 1, round(0.99 * len(values)) - 1)]
        lines.append(
            f"  {label:<46} {statistics.median(values):7.1f} {p99:7.1f} "
            f"{statistics.fmean(values):7.1f}"
        )
    lines.append(_cpu(records))
    lines.append(_locks(records))
    return "\n".join(lines)


def _cpu(records: list[list[Any]]) -> str:
    """Wall vs this thread's CPU for spans that run on one thread: an agency call (deliver →
    answered: build, sign, HTTP, verify), a settle (settle → settled) and an integrator round
    (integrate → integrated; totals per application too). Wall far above CPU is
    time spent waiting: for the agency, a lock, the GIL, or a core on a busy machine."""
    spans = {"deliver": "answered", "settle": "settled", "integrate": "integrated"}
    opened: dict[tuple[str, str], list[Any]] = {}
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for rec in records:
        t, stage, _app, _agency, thread, _extra, *rest = rec
        if not rest:
            continue
        if stage in spans:
            opened[(stage, thread)] = rec
        for begin, end in spans.items():
            if stage == end and (begin, thread) in opened:
                start = opened.pop((begin, thread))
                out[f"{begin} → {end}"].append(((t - start[0]) * 1000, (rest[0] - start[6]) * 1000))
    lines = []
    apps = len({r[2] for r in records if r[1] == "intake"})
    for label, pairs in out.items():
        walls = sorted(w for w, _c in pairs)
        cpus = sorted(c for _w, c in pairs)
        lines.append(
            f"  {label:<22} wall p50 {statistics.median(walls):6.1f} ms, thread CPU p50 "
            f"{statistics.median(cpus):5.1f} ms (mean {statistics.fmean(walls):.1f} / "
            f"{statistics.fmean(cpus):.1f}); per application: CPU {sum(cpus) / max(1, apps):.1f} ms"
        )
    return "\n".join(lines)


def _locks(records: list[list[Any]]) -> str:
    """Time settles spent waiting for the lock, and the integrator's transactions, overall."""
    waits: list[float] = []
    open_settles: dict[tuple[str, str], float] = {}
    for t, stage, app, _agency, thread, _extra, *_ in records:
        if stage == "settle":
            open_settles[(app, thread)] = t
        elif stage == "locked" and (app, thread) in open_settles:
            waits.append((t - open_settles.pop((app, thread))) * 1000)
    integrations: list[float] = []
    held: list[float] = []
    held_cpu: list[float] = []
    started: dict[str, float] = {}
    leading: dict[str, list[Any]] = {}
    for rec in records:
        t, stage, _app, _agency, key, _extra, *cpu = rec
        if stage == "integrate":
            started[key] = t
        elif stage == "integrated" and key in started:
            integrations.append((t - started.pop(key)) * 1000)
        elif stage == "lead":
            leading.setdefault(key, rec)
        elif stage == "not-led":
            leading.pop(key, None)
        elif stage == "released" and key in leading:
            lead = leading.pop(key)
            held.append((t - lead[0]) * 1000)
            if cpu and len(lead) > 6:
                held_cpu.append((cpu[0] - lead[6]) * 1000)
    apps = len({app for _t, stage, app, *_ in records if stage == "intake"})
    parts = []
    if waits:
        parts.append(
            f"  every settle: lock wait p50 {statistics.median(waits):.1f} ms, "
            f"max {max(waits):.1f} ms over {len(waits)} settles"
        )
    if integrations:
        parts.append(
            f"  integrator rounds: {len(integrations)}, p50 {statistics.median(integrations):.1f}"
            f" ms, max {max(integrations):.1f} ms"
        )
    if apps:
        parts.append(
            f"  serial section (the leader's lock held): {sum(held) / apps:.2f} ms per "
            f"application ({sum(held):.0f} ms in {len(held)} rounds for {apps} applications); "
            f"the holder's CPU meanwhile: {sum(held_cpu) / apps:.2f} ms per application"
        )
    return "\n".join(parts)


if __name__ == "__main__":
    install(os.environ[ENV])
    from gateway.cli.main import main

    sys.argv[0] = "nsw"
    main()
