"""A notifier does not start a delivery whose lease has less time left than the call may take:
it puts the claim back, so no second notifier can send the same decision while it is in flight."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.fanout.dispatch import RetryPolicy
from gateway.notify.delivery import Notifier, UrlPolicy
from gateway.pki.dev import DevPki
from gateway.storage.notifications import NotificationClaim
from gateway.trust.xmlsig import SigningIdentity

NOW = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)


class TwoClaims:
    """A store that hands out one claim with a long lease and one nearly used up."""

    def __init__(self) -> None:
        self.released: list[int] = []
        self.failures: list[int] = []

    def next_due(self) -> dt.datetime:
        return NOW  # something is ready: the notifier's turn goes on to claim

    def claim(self, worker: str, lease_s: float, limit: int = 4) -> list[NotificationClaim]:
        def claim(id_: int, lease_left_s: float) -> NotificationClaim:
            return NotificationClaim(
                id_, f"APP-{id_}", "210540012341", "https://trader.example/in", b"<x/>", "00", 1,
                worker, 1, NOW + dt.timedelta(seconds=lease_left_s),
            )  # fmt: skip

        return [claim(1, 60), claim(2, 0.5)]

    def release(self, claim: NotificationClaim) -> None:
        self.released.append(claim.id)

    def failed(self, claim: NotificationClaim, **_outcome: Any) -> None:
        self.failures.append(claim.id)


def test_a_claim_without_time_left_for_the_call_is_put_back(pki: DevPki) -> None:
    identity = SigningIdentity.from_files(
        pki.directory / "gateway.key", pki.directory / "gateway.pem"
    )
    store = TwoClaims()
    notifier = Notifier(
        store,  # type: ignore[arg-type]
        identity,
        lambda: NOW,
        # The endpoint resolves to a private address: refused without connecting anywhere.
        policy=UrlPolicy(resolver=lambda host, port: ["10.0.0.8"]),
        retry=RetryPolicy(),
        lease_s=60,
        timeout_s=1,
    )
    assert notifier.step() == 2
    assert store.failures == [1]  # the first was attempted (and refused by the URL policy)
    assert store.released == [2]  # the second had 0.5 s of lease for a call of up to 1 s
