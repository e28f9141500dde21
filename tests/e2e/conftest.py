"""Fixtures shared by the end-to-end tests of traders' receiving systems."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway.pki.dev import DevPki
from simulators.trader_inbox import RunningInbox, start_trader_inbox


@pytest.fixture
def inbox(pki: DevPki) -> Iterator[Callable[..., RunningInbox]]:
    """Start trader inboxes (simulators/trader_inbox.py) with the dev PKI; stopped after the test."""
    started: list[RunningInbox] = []

    def start(**options: Any) -> RunningInbox:
        running = start_trader_inbox(pki_dir=pki.directory, **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
