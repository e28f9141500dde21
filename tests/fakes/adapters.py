"""An agency adapter (adapters.base.AgencyAdapter) that answers from a script."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.base import AgencyAnswer, AgencyCallFailed, AgencyRequest, AgencySpec, Outcome


def spec(code: str, *, endpoint: str = "http://127.0.0.1:9/", timeout_s: float = 5.0) -> AgencySpec:
    return AgencySpec(code, code.title(), "rest", endpoint, Path("."), Path("."), timeout_s)


def answer(outcome: Outcome = Outcome.GRANTED, **fields: Any) -> AgencyAnswer:
    """An answer as an adapter would parse it; bytes made up."""
    if outcome is Outcome.GRANTED:
        fields.setdefault("permit_number", "P-1")
    return AgencyAnswer(
        outcome, b"<request/>", b"<answer>%s</answer>" % outcome.value.encode(), **fields
    )


class ScriptedAdapter:
    """Answers each `send` with the next item of `script` (an answer, or an `AgencyCallFailed`
    to raise); `read_answer` returns `callback(payload)`. Records the requests it was sent."""

    def __init__(
        self,
        code: str,
        script: list[AgencyAnswer | AgencyCallFailed] | None = None,
        *,
        callback: Callable[[Any], AgencyAnswer] | None = None,
        endpoint: str = "http://127.0.0.1:9/",
    ) -> None:
        self.spec = spec(code, endpoint=endpoint)
        self.script = list(script or [])
        self.callback = callback
        self.sent: list[AgencyRequest] = []

    def send(self, request: AgencyRequest) -> AgencyAnswer:
        self.sent.append(request)
        item = self.script.pop(0)
        if isinstance(item, AgencyCallFailed):
            raise item
        return item

    def read_answer(self, payload: Any, *, case_id: str, answer_bytes: bytes) -> AgencyAnswer:
        if self.callback is None:
            raise AgencyCallFailed("this agency answers no callbacks")
        return self.callback(payload)
