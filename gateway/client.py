"""A small client for the trader API, used by `nsw submit`, `nsw status` and the demo."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests


class ApiProblem(Exception):
    """The gateway answered with a problem document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('title')}: {problem.get('detail')}")
        self.status = status
        self.problem = problem


@dataclass
class GatewayClient:
    base_url: str
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        self.session = requests.Session()

    def _check(self, response: requests.Response) -> requests.Response:
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason, "detail": response.text[:200]}
            raise ApiProblem(response.status_code, problem)
        return response

    def submit(self, signed_xml: bytes) -> dict[str, Any]:
        response = self.session.post(
            f"{self.base_url}/api/v1/applications",
            data=signed_xml,
            headers={"Content-Type": "application/xml"},
            timeout=self.timeout_s,
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def status(self, application_id: str) -> dict[str, Any]:
        response = self.session.get(
            f"{self.base_url}/api/v1/applications/{application_id}", timeout=self.timeout_s
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def decision(self, application_id: str) -> bytes | None:
        response = self.session.get(
            f"{self.base_url}/api/v1/applications/{application_id}/decision",
            timeout=self.timeout_s,
        )
        if response.status_code == 409:
            return None
        return self._check(response).content

    def wait_for_decision(self, application_id: str, deadline_s: float = 60.0) -> bytes:
        """Poll until the decision exists or the deadline passes (TimeoutError)."""
        give_up = time.monotonic() + deadline_s
        delay = 0.05
        while True:
            xml = self.decision(application_id)
            if xml is not None:
                return xml
            if time.monotonic() > give_up:
                raise TimeoutError(f"no decision for {application_id} within {deadline_s:.0f} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
