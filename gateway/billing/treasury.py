"""The treasury's API (wsdl/treasury/openapi.json) as the gateway calls it: every request signed
with the gateway's key (RFC 9421; a GET over its empty body's Content-Digest), every answer
verified against the treasury's pinned certificate and bound to the request (`;req`)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.billing.errors import TreasuryUnavailable
from gateway.billing.ports import VerifiedStatement
from gateway.clock import Clock
from gateway.errors import GatewayError
from gateway.i18n.text import Text
from gateway.payments.money import Money
from gateway.payments.reconcile import Statement
from gateway.payments.settlement import Confirmation
from wire import httpsig

GET_COMPONENTS = ("@method", "@target-uri", "content-digest")
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class TreasuryClient:
    def __init__(
        self,
        base_url: str,
        key: rsa.RSAPrivateKey,
        cert: x509.Certificate,
        peer: x509.Certificate,
        clock: Clock,
        *,
        skew: dt.timedelta = dt.timedelta(seconds=120),
        timeout_s: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key, self._cert, self._peer = key, cert, peer
        self._clock, self._skew, self._timeout = clock, skew, timeout_s
        self._session = session or requests.Session()

    def _call(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        prepared = self._session.prepare_request(
            requests.Request(method, self.base_url + path, data=body or None, headers=headers)
        )
        components = httpsig.REQUEST_COMPONENTS if method == "POST" else GET_COMPONENTS
        httpsig.sign(
            prepared, body, self._key, self._cert, now=self._clock(), components=components
        )
        try:
            response = self._session.send(prepared, timeout=self._timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise TreasuryUnavailable(
                Text(
                    "The treasury at %(base_url)s did not answer: %(exc)s.",
                    base_url=self.base_url,
                    exc=exc,
                )
            ) from exc
        content = response.content
        if len(content) > MAX_ANSWER_BYTES:
            raise TreasuryUnavailable(Text("The treasury's answer is larger than any statement."))
        try:
            httpsig.verify(
                response,
                content,
                self._peer,
                now=self._clock(),
                skew=self._skew,
                components=httpsig.RESPONSE_COMPONENTS,
                request=prepared,
            )
        except httpsig.UntrustedHttpMessage as exc:
            raise TreasuryUnavailable(
                Text(
                    "The treasury's answer is not believed (HTTP %(status_code)s): %(exc)s.",
                    status_code=response.status_code,
                    exc=exc,
                )
            ) from exc
        return response.status_code, content, dict(response.headers.items())

    def pay(
        self,
        instruction_id: str,
        reference: str,
        amount_minor: int,
        currency: str,
        payer: dict[str, str],
    ) -> dict[str, Any]:
        body = json.dumps(
            {
                "paymentReference": reference,
                "amount": {"minor": amount_minor, "currency": currency},
                "payer": payer,
            },
            separators=(",", ":"),
        ).encode()
        status, content, _ = self._call(
            "POST",
            "/payments",
            body,
            {"Content-Type": "application/json", "Idempotency-Key": instruction_id},
        )
        answer = _json(content)
        if status not in (200, 201):
            raise TreasuryUnavailable(
                Text(
                    "The treasury refused the payment (HTTP %(status)s): %(detail)s",
                    status=status,
                    detail=answer.get("detail", ""),
                )
            )
        return answer

    def statement(self, day: dt.date) -> VerifiedStatement:
        status, content, headers = self._call("GET", f"/statements/{day.isoformat()}", b"", {})
        answer = _json(content)
        if status != 200:
            raise TreasuryUnavailable(
                Text(
                    "The treasury has no statement of %(day)s (HTTP %(status)s): %(detail)s",
                    day=day,
                    status=status,
                    detail=answer.get("detail", ""),
                )
            )
        try:
            lines = tuple(_confirmation(p) for p in answer["payments"])
            statement = Statement(dt.date.fromisoformat(answer["date"]), lines)
            final = bool(answer["final"])
        except GatewayError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise TreasuryUnavailable(
                Text("The treasury's statement is malformed: %(exc)s.", exc=exc)
            ) from exc
        if statement.day != day:
            raise TreasuryUnavailable(
                Text(
                    "Asked for the statement of %(day)s, got %(day2)s.", day=day, day2=statement.day
                )
            )
        kept = {
            k: v
            for k, v in headers.items()
            if k.lower() in ("content-type", "content-digest", "signature-input", "signature")
        }
        return VerifiedStatement(statement, final, content, kept)


def _json(content: bytes) -> dict[str, Any]:
    try:
        value = json.loads(content)
    except ValueError as exc:
        raise TreasuryUnavailable(Text("The treasury's answer is not JSON.")) from exc
    if not isinstance(value, dict):
        raise TreasuryUnavailable(Text("The treasury's answer is not a JSON object."))
    return value


def _confirmation(p: dict[str, Any]) -> Confirmation:
    return Confirmation(
        payment_id=str(p["paymentId"]),
        reference=str(p["paymentReference"]),
        amount=Money(p["amount"]["minor"], str(p["amount"]["currency"])),
        payer=str(p["payer"]["bin"]),
        paid_on=dt.date.fromisoformat(p["valueDate"]),
    )
