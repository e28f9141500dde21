"""Tell the trader: each decision is POSTed, signed, to the URL the trader registered.

The request body is the signed decision, byte for byte (its XML signature is the gateway's word);
the request itself carries the gateway's RFC 9421 signature in the same profile as requests to
agencies ("@method" "@target-uri" "content-type" "content-digest", plus "idempotency-key"), so the
trader can check both the sender and that nothing was changed on the way. Delivery is
at-least-once: every attempt of one notification carries the same Idempotency-Key, and the trader
keeps the first. A 2xx answer is delivery; 410 Gone stops at once; anything else is retried with
the dispatcher's jittered backoff until `max_attempts`, then the notification is *failed* — kept,
visible in the application's status and `nsw notifications list`, and retried by an operator.

A trader chooses the URL, so the URL is hostile input: only http(s), no credentials, never a
redirect followed, and (unless allowed for development) only public addresses — checked when it is
registered and again before every attempt, since names can be re-pointed.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.httpsig import REQUEST_COMPONENTS, sign
from gateway.clock import Clock, iso
from gateway.dispatch import RetryPolicy, worker_name
from gateway.errors import CallbackUrlRefused
from gateway.storage.notifications import NotificationClaim, NotificationStore
from gateway.xmlsig import SigningIdentity

log = logging.getLogger(__name__)

COMPONENTS = (*REQUEST_COMPONENTS, "idempotency-key")
MAX_URL_LENGTH = 2000
Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the system resolver)."""
    return sorted(
        {str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    )


@dataclass(frozen=True)
class UrlPolicy:
    allow_http: bool = False
    allow_private: bool = False
    resolver: Resolver = resolve

    def check(self, url: str) -> str:
        """`url` if the gateway may POST to it; otherwise `CallbackUrlRefused` saying why."""
        if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
            raise CallbackUrlRefused(
                f"Give the notification URL as a string of at most {MAX_URL_LENGTH} characters."
            )
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise CallbackUrlRefused(f"The notification URL cannot be read: {exc}.") from exc
        allowed = ("https", "http") if self.allow_http else ("https",)
        if parts.scheme not in allowed:
            raise CallbackUrlRefused(
                f"The notification URL must start with {' or '.join(a + '://' for a in allowed)}."
            )
        if parts.username is not None or parts.password is not None:
            raise CallbackUrlRefused(
                "Do not put a user name or password in the notification URL; the gateway signs "
                "each notification, so your endpoint can check who sent it."
            )
        if parts.fragment or not parts.hostname:
            raise CallbackUrlRefused("The notification URL needs a host name and no #fragment.")
        if not self.allow_private:
            self._check_public(parts.hostname, port or (443 if parts.scheme == "https" else 80))
        return url

    def _check_public(self, host: str, port: int) -> None:
        try:
            addresses = self.resolver(host, port)
        except OSError as exc:
            raise CallbackUrlRefused(
                f"The host {host} of the notification URL does not resolve."
            ) from exc
        for address in addresses:
            if not ipaddress.ip_address(address.split("%")[0]).is_global:
                raise CallbackUrlRefused(
                    f"The host {host} of the notification URL points to {address}, which is not "
                    "a public address; notifications go only to the public internet."
                )


class Notifier:
    """Claims owed notifications and delivers them; run by the same threads as the dispatchers."""

    def __init__(
        self,
        store: NotificationStore,
        identity: SigningIdentity,
        clock: Clock,
        *,
        policy: UrlPolicy,
        retry: RetryPolicy,
        lease_s: float,
        timeout_s: float,
        name: str | None = None,
    ) -> None:
        key = identity.private_key
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the gateway's key must be RSA to sign HTTP messages (profile nsw)")
        self.key = key
        self.certificate = identity.certificate
        self.store = store
        self.clock = clock
        self.policy = policy
        self.retry = retry
        self.lease_s = lease_s
        self.timeout_s = timeout_s
        self.name = name or worker_name() + ":notify"
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment decides where we connect

    def run(self, stop: threading.Event, poll_s: float) -> None:
        while not stop.is_set():
            try:
                handled = self.run_once()
            except Exception:
                log.exception("notifier %s: claiming failed", self.name)
                handled = 0
            if not handled:
                stop.wait(poll_s)

    def run_once(self, batch: int = 4) -> int:
        claims = self.store.claim(self.name, self.lease_s, limit=batch)
        for claim in claims:
            self.deliver(claim)
        return len(claims)

    def deliver(self, claim: NotificationClaim) -> None:
        record: dict[str, Any] = {"sent_at": iso(self.clock())}
        try:
            self.policy.check(claim.url)
        except CallbackUrlRefused as exc:
            self._give_up(claim, exc.detail, None, record)
            return
        request = requests.Request(
            "POST",
            claim.url,
            data=claim.decision,
            headers={
                "Content-Type": "application/xml",
                "Idempotency-Key": claim.idempotency_key,
                "NSW-Application-Id": claim.application_id,
            },
        ).prepare()
        sign(
            request,
            claim.decision,
            self.key,
            self.certificate,
            now=self.clock(),
            components=COMPONENTS,
        )
        for name in ("Content-Digest", "Signature-Input", "Signature"):
            record[name.lower()] = request.headers[name]
        started = time.monotonic()
        try:
            answer = self.session.send(request, timeout=self.timeout_s, allow_redirects=False)
        except requests.RequestException as exc:
            self._failed(claim, f"the trader's endpoint could not be reached: {exc}", None, record)
            return
        record["status"] = answer.status_code
        record["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
        if 200 <= answer.status_code < 300:
            self.store.delivered(claim, answer.status_code, {**record, "outcome": "delivered"})
            log.info("notification %d for %s delivered", claim.id, claim.application_id)
        elif answer.status_code == 410:
            self._give_up(claim, "the trader's endpoint answered 410 Gone", 410, record)
        else:
            where = f" (to {answer.headers.get('Location')})" if answer.is_redirect else ""
            error = f"the trader's endpoint answered HTTP {answer.status_code}{where}"
            self._failed(claim, error, answer.status_code, record)

    def _failed(
        self, claim: NotificationClaim, error: str, status: int | None, record: dict[str, Any]
    ) -> None:
        retry_at = self.retry.next_try(claim.attempts, self.clock())
        if retry_at is None:
            self._give_up(claim, error, status, record)
            return
        log.warning("notification %d attempt %d failed: %s", claim.id, claim.attempts, error)
        self.store.failed(claim, error=error, status=status, retry_at=retry_at, record=record)

    def _give_up(
        self, claim: NotificationClaim, error: str, status: int | None, record: dict[str, Any]
    ) -> None:
        log.warning("notification %d failed for good: %s", claim.id, error)
        record = {**record, "outcome": "failed", "error": error}
        self.store.failed(claim, error=error, status=status, retry_at=None, record=record)
