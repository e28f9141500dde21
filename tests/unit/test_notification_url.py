"""The notification URL policy: a trader's URL must not point the gateway at its own network —
judged by where the name resolves, when registered and again before each attempt."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateway.dispatch import RetryPolicy
from gateway.errors import CallbackUrlRefused
from gateway.notifications import Notifier, UrlPolicy
from gateway.pki import DevPki
from gateway.storage.notifications import NotificationClaim
from gateway.xmlsig import SigningIdentity


def resolving_to(*addresses: str) -> Any:
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def unresolvable(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


@pytest.mark.parametrize("address", ["203.0.113.7", "2001:db8::1"])
def test_a_documentation_range_is_not_public(address: str) -> None:
    # 203.0.113.0/24 and 2001:db8::/32 are reserved for documentation: not global either.
    with pytest.raises(CallbackUrlRefused, match="not a public address"):
        UrlPolicy(resolver=resolving_to(address)).check("https://trader.example/in")


def test_a_name_that_resolves_to_public_addresses_is_accepted() -> None:
    policy = UrlPolicy(resolver=resolving_to("8.8.8.8", "2a00:1450:4001:80b::200e"))
    assert policy.check("https://trader.example:8443/nsw") == "https://trader.example:8443/nsw"


@pytest.mark.parametrize(
    "address", ["10.1.2.3", "192.168.0.5", "172.16.9.9", "127.0.0.1", "::1", "fe80::1%eth0",
                "169.254.169.254", "100.64.0.1", "::ffff:10.0.0.1"],
)  # fmt: skip
def test_a_name_that_resolves_inside_is_refused(address: str) -> None:
    with pytest.raises(CallbackUrlRefused, match="not a public address"):
        UrlPolicy(resolver=resolving_to("8.8.8.8", address)).check("https://trader.example/in")


def test_an_unresolvable_name_is_refused_with_its_name() -> None:
    with pytest.raises(
        CallbackUrlRefused, match=r"nowhere\.example of the notification URL does not resolve"
    ):
        UrlPolicy(resolver=unresolvable).check("https://nowhere.example/in")


def test_development_settings_allow_plain_http_to_loopback() -> None:
    policy = UrlPolicy(allow_http=True, allow_private=True, resolver=unresolvable)
    assert policy.check("http://127.0.0.1:9000/in") == "http://127.0.0.1:9000/in"
    with pytest.raises(CallbackUrlRefused, match="user name or password"):
        policy.check("http://a:b@127.0.0.1:9000/in")
    with pytest.raises(CallbackUrlRefused, match="cannot be read"):
        policy.check("http://127.0.0.1:99999/in")


class Recorder:
    """Stands in for the notification store: keeps what the notifier reports."""

    def __init__(self) -> None:
        self.outcomes: list[dict[str, Any]] = []

    def failed(self, claim: NotificationClaim, **outcome: Any) -> None:
        self.outcomes.append(outcome)


def test_a_name_re_pointed_inside_after_registration_is_not_called(pki: DevPki) -> None:
    identity = SigningIdentity.from_files(
        pki.directory / "gateway.key", pki.directory / "gateway.pem"
    )
    store = Recorder()
    notifier = Notifier(
        store,  # type: ignore[arg-type]
        identity,
        lambda: dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
        policy=UrlPolicy(resolver=resolving_to("10.0.0.8")),
        retry=RetryPolicy(),
        lease_s=60,
        timeout_s=1,
    )
    claim = NotificationClaim(
        7, "APP-1", "210540012341", "https://trader.example/in", b"<x/>", "00", 1
    )
    notifier.deliver(claim)  # would raise: tests may not connect beyond 127.0.0.1
    [outcome] = store.outcomes
    assert outcome["retry_at"] is None and outcome["status"] is None
    assert "10.0.0.8" in outcome["error"]
