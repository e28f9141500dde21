"""The setting of the storage benches that time what follows a claim (`close_costs`,
`settle_costs`): N applications of four cases lodged, every delivery claimed, and each claim's
answer (granted) ready, grouped by application."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable

from _support import fresh_database
from fanout_bench import REPO_ROOT

from gateway.decision.rules import CaseState
from gateway.fanout.ports import Answered, Claim
from gateway.intake.ports import NewApplication
from gateway.storage.outbox import OutboxStore
from gateway.trail.messages import Message

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)  # the store's clock, stopped
AGENCIES = ("customs", "health", "police", "transport")
BIN = "210540012341"
FIELDS = {
    "permit_number": "P-1", "valid_until": None, "reasons": [], "conditions": [],
    "inspection": None, "extra": {}, "charges": [], "answer_sha256": "ab" * 32,
}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options both benches take: how many applications, and which database."""
    parser.add_argument("-n", type=int, default=300, help="applications (four cases each)")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL instead of SQLite")
    parser.add_argument("--may-wipe", metavar="NAME", help="see fanout_bench --may-wipe")


def fresh_store(args: argparse.Namespace, name: str) -> OutboxStore:
    """An outbox on a fresh database (`--postgres`, else SQLite under var/bench/NAME), its
    clock stopped at NOW."""
    workdir = REPO_ROOT / "var" / "bench" / name
    workdir.mkdir(parents=True, exist_ok=True)
    engine = fresh_database(args.postgres or f"sqlite:///{workdir / 'nsw.db'}", args.may_wipe)
    return OutboxStore(engine, lambda: NOW)


def claimed_answers(
    store: OutboxStore, n: int, messages: Callable[[Claim], list[Message]] = lambda _claim: []
) -> dict[str, list[Answered]]:
    """Lodge `n` applications, claim all their deliveries, and answer each claim `granted` with
    `messages(claim)` for the trail; by application id, in the order claimed."""
    for i in range(n):
        new = NewApplication(
            id=f"APP-{i}", declarant_bin=BIN, trader_reference=f"REF-{i}",
            procedure="import", body=b"<Application/>", signer_subject="CN=bench",
            signer_fingerprint="00" * 32, routing={agency: [] for agency in AGENCIES},
        )  # fmt: skip
        store.create_application(new, [])
    by_application: dict[str, list[Answered]] = {}
    for claim in store.claim("bench", 600.0, limit=len(AGENCIES) * n):
        answer = Answered(claim, CaseState.GRANTED, FIELDS, messages(claim))
        by_application.setdefault(claim.application_id, []).append(answer)
    return by_application
