"""What composing a decision needs, handed in by storage inside the transaction that settles a case.

Storage never calls up into decision signing with an ORM row in hand: it hands a `DecisionSubject`
(the facts the decision document names about the application) and the cases as `CaseResult`s, and
the `Decide` function the composition root made (`gateway.decision.document.make_decider`)
composes and signs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from gateway.decision.rules import CaseResult


@dataclass(frozen=True)
class DecisionSubject:
    application_id: str
    declarant_bin: str
    trader_reference: str
    application_sha256: str
    # When the application was released by a paid order (issue 20): a later re-decision of its
    # cases (an inspection cleared) keeps it released.
    released_at: dt.datetime | None = None
    # Issue 19: the decision this one replaces (its version and SHA-256), when there was one.
    replaces: DecisionRef | None = None
    # Issue 20: the release's permit write-off was refused (problem code, sentence): a decision
    # that would release says held instead.
    held: tuple[str, str] | None = None


@dataclass(frozen=True)
class DecisionRef:
    """One issued decision version: its number (1 for the first) and the SHA-256 of its bytes."""

    version: int
    sha256: str


# (verdict, signed decision XML) once every case is settled; None while any is open.
Decide = Callable[[DecisionSubject, list[CaseResult]], tuple[str, bytes] | None]
