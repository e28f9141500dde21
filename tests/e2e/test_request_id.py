"""One request id follows an application from intake to its decision: kept with the application,
shown in its status, and carried by the dispatchers' log lines about its cases."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from gateway.observability.request_context import request_id_var
from tests.gateway_fixtures import RunningGateway
from tests.polling import wait_until


class RequestIds(logging.Handler):
    """Notes the request id in force when each dispatcher log line is written."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((request_id_var.get(), record.getMessage()))


@pytest.fixture
def dispatch_log() -> Iterator[RequestIds]:
    handler = RequestIds()
    logger = logging.getLogger("gateway.fanout.dispatch")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.setLevel(level)
    logger.removeHandler(handler)


def test_the_intake_request_id_is_kept_and_carried_to_the_decision(
    gateway: Callable[..., RunningGateway],
    signed_sample: Callable[..., bytes],
    dispatch_log: RequestIds,
) -> None:
    gw = gateway()
    gw.client.session.headers["X-Request-Id"] = "trader-run-7f3a9c"
    accepted = gw.client.submit(signed_sample("fresh-apples-import"))
    del gw.client.session.headers["X-Request-Id"]
    gw.client.wait_for_decision(accepted["id"])

    assert gw.client.status(accepted["id"])["request_id"] == "trader-run-7f3a9c"
    lines = wait_until(
        lambda: (
            [m for rid, m in dispatch_log.seen if accepted["id"] in m and "decided" in m]
            and dispatch_log.seen
        ),
        what="the dispatcher logs the decision",
    )
    about_it = [(rid, m) for rid, m in lines if accepted["id"] in m]
    assert len(about_it) >= 5  # four cases settled, one decision
    assert {rid for rid, _ in about_it} == {"trader-run-7f3a9c"}


def test_without_a_request_id_the_gateway_makes_one_and_keeps_it(
    gateway: Callable[..., RunningGateway], signed_sample: Callable[..., bytes]
) -> None:
    gw = gateway()
    accepted = gw.client.submit(signed_sample("live-cattle-import"))
    kept = gw.client.status(accepted["id"])["request_id"]
    assert kept and len(kept) == 16  # 8 random bytes, hex
