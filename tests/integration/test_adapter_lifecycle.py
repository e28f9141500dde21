"""Each adapter's cancel and amend operations (issue 19) against a live stand-in of every agency:
an amendment supersedes the permit, a cancellation cancels it and is acknowledged even for a case
the agency never saw, and a cancelled case takes no request or amendment any more."""

from __future__ import annotations

from typing import Any

import pytest

from adapters import AgencyCallFailed, AgencyRequest, Outcome
from tests.integration.conftest import sample

CODES = ("customs", "transport", "police", "veterinary", "phytosanitary", "health")
GRANTED = {"veterinary": "chilled-lamb-import"}


@pytest.mark.parametrize("code", CODES)
def test_amend_supersedes_and_cancel_cancels_at_the_standin(
    agency_server: Any, adapter_for: Any, code: str
) -> None:
    agency = agency_server(code)
    adapter = adapter_for(code, agency.url, 5.0)
    body = sample(GRANTED.get(code, "fresh-apples-import"))
    first = adapter.send(AgencyRequest(f"case-{code}", "app-1", body))
    amended = adapter.send(
        AgencyRequest(f"case-{code}", "app-1", body, operation="amend", version=2)
    )
    assert amended.outcome is first.outcome is Outcome.GRANTED
    assert amended.permit_number != first.permit_number
    record = agency.cases.get(f"case-{code}")
    assert record.superseded == [first.permit_number]
    assert record.permit == amended.permit_number

    cancelled = adapter.send(
        AgencyRequest(f"case-{code}", "app-1", body, operation="cancel", reason="duplicate")
    )
    assert cancelled.outcome is Outcome.CANCELLED
    assert cancelled.permit_number == amended.permit_number
    assert agency.cases.get(f"case-{code}").cancelled

    # A case never seen is acknowledged as cancelled; a request for it afterwards is refused.
    unseen = adapter.send(
        AgencyRequest(f"case-{code}-2", "app-2", body, operation="cancel", reason="duplicate")
    )
    assert unseen.outcome is Outcome.CANCELLED and unseen.permit_number is None
    with pytest.raises(AgencyCallFailed, match="cancelled"):
        adapter.send(AgencyRequest(f"case-{code}-2", "app-2", body))
    with pytest.raises(AgencyCallFailed, match="cancelled"):
        adapter.send(AgencyRequest(f"case-{code}", "app-1", body, operation="amend", version=3))


@pytest.mark.parametrize("code", ("customs", "health"))
def test_a_case_cancelled_by_an_amendment_may_come_back_with_a_later_one(
    agency_server: Any, adapter_for: Any, code: str
) -> None:
    agency = agency_server(code)
    adapter = adapter_for(code, agency.url, 5.0)
    body = sample("fresh-apples-import")
    adapter.send(AgencyRequest("case-1", "app-1", body))
    adapter.send(AgencyRequest("case-1", "app-1", body, operation="cancel", reason="amended"))
    back = adapter.send(AgencyRequest("case-1", "app-1", body, operation="amend", version=3))
    assert back.outcome is Outcome.GRANTED
    assert not agency.cases.get("case-1").cancelled
