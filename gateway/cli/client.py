"""A small client for the trader API, used by `nsw submit`, `nsw status` and the demo.

Reading an application needs proof of identity: give the client the trader's `SigningIdentity` and
every read is signed with RFC 9421 HTTP Message Signatures (`TraderSignatureAuth`). Lodging needs
none (the XML signature is the proof).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from cryptography.hazmat.primitives import hashes

from gateway.clock import Clock, system_clock
from gateway.i18n.cli import cli_locale
from gateway.trust.http_signatures import TRADER_TAG, PrivateKey, RequestView, sign_request
from gateway.trust.xmlsig import SigningIdentity


class ApiProblem(Exception):
    """The gateway answered with a problem document."""

    def __init__(
        self, status: int, problem: dict[str, Any], retry_after_s: float | None = None
    ) -> None:
        super().__init__(f"{status} {problem.get('title')}: {problem.get('detail')}")
        self.status = status
        self.problem = problem
        self.retry_after_s = retry_after_s  # the answer's Retry-After, in seconds, if it had one


class TraderSignatureAuth(requests.auth.AuthBase):
    """requests auth that signs each request with the key of a trader certificate (RFC 9421,
    keyid = the certificate's SHA-256 fingerprint)."""

    def __init__(self, identity: SigningIdentity, clock: Clock = system_clock) -> None:
        key = identity.private_key
        if not isinstance(key, PrivateKey):
            raise ValueError("the identity's key cannot sign HTTP requests")
        self.key: PrivateKey = key
        self.keyid = identity.certificate.fingerprint(hashes.SHA256()).hex()
        self.clock = clock

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body.encode() if isinstance(r.body, str) else r.body
        view = RequestView(str(r.method), str(r.url), r.headers)
        sign_request(
            view, self.key, self.keyid, tag=TRADER_TAG, now=self.clock(), body=body or None
        )
        return r


@dataclass
class GatewayClient:
    base_url: str
    timeout_s: float = 30.0
    identity: SigningIdentity | None = None

    def __post_init__(self) -> None:
        self.session = requests.Session()
        # The gateway's problems come back in the command's language (NSW_LANG; gateway.i18n.cli).
        self.session.headers["Accept-Language"] = cli_locale()
        self.auth = TraderSignatureAuth(self.identity) if self.identity is not None else None

    def auth_for(self, application_id: str) -> requests.auth.AuthBase | None:
        """How to sign reads of `application_id` (a subclass may hold several identities)."""
        return self.auth

    def _get(self, application_id: str, suffix: str = "") -> requests.Response:
        return self.session.get(
            f"{self.base_url}/api/v1/applications/{application_id}{suffix}",
            auth=self.auth_for(application_id),
            timeout=self.timeout_s,
        )

    def _check(self, response: requests.Response) -> requests.Response:
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason, "detail": response.text[:200]}
            raise ApiProblem(response.status_code, problem, _retry_after(response))
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

    def withdraw(self, application_id: str, signed_xml: bytes) -> dict[str, Any]:
        """Lodge a signed withdrawal (issue 19); the gateway's answer."""
        return self._post_xml(f"/api/v1/applications/{application_id}/withdrawal", signed_xml)

    def amend(self, application_id: str, signed_xml: bytes) -> dict[str, Any]:
        """Lodge a signed new version of the application (issue 19); the gateway's answer."""
        return self._post_xml(f"/api/v1/applications/{application_id}/versions", signed_xml)

    def guarantee(self, application_id: str, signed_xml: bytes) -> dict[str, Any]:
        """Offer a signed guarantee as security for the application's payment (issue 20)."""
        return self._post_xml(f"/api/v1/applications/{application_id}/guarantee", signed_xml)

    def guarantees(self, application_id: str) -> dict[str, Any]:
        """Every guarantee offered for the application and what became of it (a signed read)."""
        result: dict[str, Any] = self._check(self._get(application_id, "/guarantee")).json()
        return result

    def _post_xml(self, path: str, signed_xml: bytes) -> dict[str, Any]:
        response = self.session.post(
            f"{self.base_url}{path}",
            data=signed_xml,
            headers={"Content-Type": "application/xml"},
            timeout=self.timeout_s,
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def status(self, application_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._check(self._get(application_id)).json()
        return result

    def attach(self, application_id: str, data: bytes) -> dict[str, Any]:
        """Upload a supporting document the signed application lists (by the SHA-256 of `data`):
        a signed PUT covering the body's Content-Digest."""
        sha256 = hashlib.sha256(data).hexdigest()
        response = self.session.put(
            f"{self.base_url}/api/v1/applications/{application_id}/attachments/{sha256}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            auth=self.auth_for(application_id),
            timeout=self.timeout_s,
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def receipt(self, application_id: str) -> bytes:
        return self._check(self._get(application_id, "/receipt")).content

    def evidence(self, application_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._check(self._get(application_id, "/evidence")).json()
        return result

    def payment_order(self, application_id: str) -> dict[str, Any]:
        """The signed payment order with what was received and what is outstanding."""
        result: dict[str, Any] = self._check(self._get(application_id, "/payment-order")).json()
        return result

    def permit(self, permit_id: str) -> dict[str, Any]:
        """A permit of the signer's company: balance, state today and every write-off."""
        response = self.session.get(
            f"{self.base_url}/api/v1/permits/{permit_id}", auth=self.auth, timeout=self.timeout_s
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def decision(self, application_id: str) -> bytes | None:
        response = self._get(application_id, "/decision")
        if response.status_code == 409:
            return None
        return self._check(response).content

    def applications(
        self,
        declarant: str,
        *,
        state: str | None = None,
        since: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """The first page of `declarant`'s applications, newest first; `next_page` goes on."""
        query = {"declarant": declarant, "state": state, "since": since, "limit": limit}
        params = urlencode({k: v for k, v in query.items() if v is not None})
        return self._page(f"/api/v1/applications?{params}")

    def next_page(self, page: dict[str, Any]) -> dict[str, Any] | None:
        """The page after `page` (its `next` link, on this gateway), or None after the last."""
        link = page.get("links", {}).get("next")
        return self._page(link) if isinstance(link, str) and link.startswith("/") else None

    def _page(self, path: str) -> dict[str, Any]:
        response = self.session.get(
            f"{self.base_url}{path}", auth=self.auth, timeout=self.timeout_s
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def notification_url(self, bin_: str) -> dict[str, Any] | None:
        """Where `bin_`'s decisions are sent, or None if nowhere."""
        response = self.session.get(
            self._subscription(bin_), auth=self.auth, timeout=self.timeout_s
        )
        if response.status_code == 404:
            return None
        result: dict[str, Any] = self._check(response).json()
        return result

    def register_notification_url(
        self, bin_: str, url: str, events: list[str] | None = None
    ) -> dict[str, Any]:
        """Have `bin_`'s decisions — or the notification types `events` (gateway.notify.events)
        — POSTed, signed by the gateway, to `url`."""
        body: dict[str, Any] = {"url": url} if events is None else {"url": url, "events": events}
        response = self.session.put(
            self._subscription(bin_), json=body, auth=self.auth, timeout=self.timeout_s
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def remove_notification_url(self, bin_: str) -> None:
        self._check(
            self.session.delete(self._subscription(bin_), auth=self.auth, timeout=self.timeout_s)
        )

    def _subscription(self, bin_: str) -> str:
        return f"{self.base_url}/api/v1/traders/{bin_}/notification-url"

    def wait_for_decision(self, application_id: str, deadline_s: float = 60.0) -> bytes:
        """Poll until the decision exists or the deadline passes (TimeoutError)."""
        give_up = time.monotonic() + deadline_s
        delay = 0.05
        while True:
            pause = delay
            try:
                xml = self.decision(application_id)
            except ApiProblem as busy:
                # 503 with Retry-After (a database connection lost, the gateway recovering): a
                # passing condition, asked again after the time it gives, while the deadline allows.
                if busy.status != 503 or time.monotonic() > give_up:
                    raise
                xml, pause = None, min(busy.retry_after_s or delay, 5.0)
            if xml is not None:
                return xml
            if time.monotonic() > give_up:
                raise TimeoutError(f"no decision for {application_id} within {deadline_s:.0f} s")
            time.sleep(max(0.0, min(pause, give_up - time.monotonic())))
            delay = min(delay * 1.5, 0.5)


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds (RFC 9110 §10.2.3), when given as a number; None otherwise."""
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None
