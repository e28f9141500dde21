"""Tell the trader: each decision — and each progress event the trader chose
(gateway/notify/events.py) — is POSTed, signed, to the URL the trader registered.

The request body is the signed decision, byte for byte (its XML signature is the gateway's word);
the request itself carries the gateway's RFC 9421 signature in the same profile as requests to
agencies ("@method" "@target-uri" "content-type" "content-digest", plus "idempotency-key"), so the
trader can check both the sender and that nothing was changed on the way. A progress event is a
JSON document (`application/json`, header `NSW-Event-Type`), signed the same way on the wire; it is
delivered by the same rows, retries and fencing as a decision, with its own Idempotency-Key. Delivery is
at-least-once: every attempt of one notification carries the same Idempotency-Key, and the trader
keeps the first. A 2xx answer is delivery; 410 Gone stops at once; anything else is retried with
the dispatcher's jittered backoff until `max_attempts`, then the notification is *failed* — kept,
visible in the application's status and `nsw notifications list`, and retried by an operator.

A trader chooses the URL, so the URL is hostile input: only http(s), no credentials, never a
redirect followed, and (unless allowed for development) only public addresses — checked when it is
registered and again before every attempt, since names can be re-pointed; the attempt then
connects to the very address it judged (Host, SNI and the certificate check keep the URL's name),
so a name cannot be re-pointed between the check and the connection either.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import HTTPAdapter

from gateway.clock import Clock, iso
from gateway.errors import CallbackUrlRefused
from gateway.fanout.dispatch import RetryPolicy, worker_name
from gateway.fanout.wakeup import NOTIFICATIONS
from gateway.i18n.text import Text
from gateway.notify.ports import Deliveries, NotificationClaim
from gateway.notify.public_address import refusal
from gateway.trust.xmlsig import SigningIdentity
from wire.httpsig import REQUEST_COMPONENTS, sign

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
        if self.allow_private:
            self._form(url)
            return url
        try:
            self.address_for(url)
        except OSError as exc:
            host, _ = _host_port(url)
            raise CallbackUrlRefused(
                Text("The host %(host)s of the notification URL does not resolve.", host=host)
            ) from exc
        return url

    def address_for(self, url: str) -> str:
        """The one address to connect to for `url`: its form checked, its name resolved and
        judged now, then used as it is, so the name cannot be re-pointed between the judging
        and the connection (DNS rebinding). `CallbackUrlRefused` for a URL the gateway may not
        call; OSError when the name does not resolve now."""
        self._form(url)
        host, port = _host_port(url)
        addresses = self.resolver(host, port)
        if not addresses:
            raise OSError(f"{host} resolves to no address")
        if not self.allow_private:
            self._judge(host, addresses)
        return addresses[0]

    def _form(self, url: str) -> None:
        """The URL's own form: length, scheme, no credentials, a host, no fragment."""
        if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
            raise CallbackUrlRefused(
                Text(
                    "Give the notification URL as a string of at most %(MAX_URL_LENGTH)s "
                    "characters.",
                    MAX_URL_LENGTH=MAX_URL_LENGTH,
                )
            )
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises ValueError for a port out of range
        except ValueError as exc:
            raise CallbackUrlRefused(
                Text("The notification URL cannot be read: %(exc)s.", exc=exc)
            ) from exc
        allowed = ("https", "http") if self.allow_http else ("https",)
        if parts.scheme not in allowed:
            raise CallbackUrlRefused(
                Text(
                    "The notification URL must start with %(list)s.",
                    list=" or ".join(a + "://" for a in allowed),
                )
            )
        if parts.username is not None or parts.password is not None:
            raise CallbackUrlRefused(
                Text(
                    "Do not put a user name or password in the notification URL; the gateway signs "
                    "each notification, so your endpoint can check who sent it."
                )
            )
        if parts.fragment or not parts.hostname:
            raise CallbackUrlRefused(
                Text("The notification URL needs a host name and no #fragment.")
            )

    def _judge(self, host: str, addresses: list[str]) -> None:
        for address in addresses:
            if (why := refusal(address)) is not None:
                raise CallbackUrlRefused(
                    Text(
                        "The host %(host)s of the notification URL points to %(address)s, %(why)s; "
                        "notifications go only to the public internet.",
                        host=host,
                        address=address,
                        why=why,
                    )
                )


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def pinned(url: str, address: str) -> str:
    """`url` with its host replaced by `address` (brackets for IPv6), port kept."""
    parts = urlsplit(url)
    shown = f"[{address}]" if ":" in address else address
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    return parts._replace(netloc=netloc).geturl()


class _NameForTls(HTTPAdapter):
    """Connects to an address but does TLS as `host`: SNI and certificate name are the host's."""

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["server_hostname"] = self.host
        kwargs["assert_hostname"] = self.host
        super().init_poolmanager(*args, **kwargs)


def pinned_session(url: str) -> requests.Session:
    """A session for one request to `url` sent to a pinned address: no proxies from the
    environment, and TLS done for the URL's host name."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment decides where we connect
    session.mount("https://", _NameForTls(urlsplit(url).hostname or ""))
    return session


class Notifier:
    """Claims owed notifications and delivers them; run by the same threads as the dispatchers."""

    def __init__(
        self,
        store: Deliveries,
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
        self.channel = NOTIFICATIONS  # the wake-up it waits on
        self._due: dt.datetime | None = None  # the last turn's `store.next_due()`

    def next_due(self) -> dt.datetime | None:
        """When an owed notification may next be ready (a retry's time, a lease running out),
        as read by the last turn; None when none is owed."""
        return self._due

    def finish(self, timeout_s: float) -> None:
        """Nothing to wait for: a notifier delivers inside `step`."""

    def step(self, batch: int = 4) -> int:
        self._due = self.store.next_due()  # one cheap read: an idle turn ends here
        if self._due is None or self._due > self.clock():
            return 0
        claims = self.store.claim(self.name, self.lease_s, limit=batch)
        for claim in claims:
            left = (claim.lease_until - self.clock()).total_seconds() if claim.lease_until else None
            if left is not None and left < self.timeout_s:
                # Slow endpoints before it in this batch used up its lease: put it back rather
                # than risk a second notifier sending it too (the dispatcher does the same).
                self.store.release(claim)
                continue
            self.deliver(claim)
        return len(claims)

    def deliver(self, claim: NotificationClaim) -> None:
        record: dict[str, Any] = {"sent_at": iso(self.clock())}
        try:
            address = self.policy.address_for(claim.url)
        except CallbackUrlRefused as exc:
            self._give_up(claim, exc.detail, None, record)
            return
        except OSError as exc:
            self._failed(
                claim, f"the notification URL's host does not resolve now: {exc}", None, record
            )
            return
        request = requests.Request(
            "POST",
            claim.url,
            data=claim.decision,
            headers={
                "Content-Type": "application/json" if claim.is_event else "application/xml",
                "Idempotency-Key": claim.idempotency_key,
                "NSW-Application-Id": claim.application_id,
                "NSW-Event-Type": claim.kind,
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
        # Signed for the URL as registered; sent to the address judged above, with the URL's
        # host in Host (and, for https, in SNI and the certificate check).
        host = urlsplit(claim.url).netloc
        request.url, request.headers["Host"] = pinned(claim.url, address), host
        record["address"] = address
        session = pinned_session(claim.url)
        started = time.monotonic()
        try:
            with session:
                answer = session.send(request, timeout=self.timeout_s, allow_redirects=False)
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
