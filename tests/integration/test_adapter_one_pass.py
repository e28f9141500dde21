"""The stand-in agencies (the other side's own implementation of the profiles) sign in the exact
shape the gateway checks in one pass: every call signs its request and verifies the answer
without the libraries' slower paths (wire.sigbase, wire.dsig), so the figures issue 17 measures
are the paths the gateway really takes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import pytest

from adapters import AgencyAdapter, AgencyRequest, Outcome
from simulators.server import RunningAgency
from tests.integration.test_adapters import CODES, granted, live_adapter


def _not_taken(*args: Any, **kwargs: Any) -> NoReturn:
    raise AssertionError("the library's path was taken")


@pytest.mark.parametrize("code", CODES)
def test_each_agency_call_signs_and_verifies_in_one_pass(
    agency_server: Callable[..., RunningAgency],
    adapter_for: Callable[..., AgencyAdapter],
    monkeypatch: pytest.MonkeyPatch,
    code: str,
) -> None:
    monkeypatch.setattr("wire.httpsig._signer", _not_taken)
    monkeypatch.setattr("wire.httpsig._Verifier", _not_taken)
    monkeypatch.setattr("wire.wsse._verified_by_signxml", _not_taken)
    adapter, _ = live_adapter(agency_server, adapter_for, code)
    answer = adapter.send(AgencyRequest(f"case-{code}", "app-1", granted(code)))
    assert answer.outcome is Outcome.GRANTED and answer.permit_number
