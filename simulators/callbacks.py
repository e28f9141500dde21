"""Answering later: a stand-in agency posts its final answer to the callback URL of the request.

SOAP agencies call the gateway's SubmitAgencyAnswer (wsdl/gateway/gateway.wsdl) with a WS-Security
signed envelope; REST agencies POST their JSON answer signed per RFC 9421. Each callback is sent
from a background thread after `delay_s`, retried a few times on a connection error or a 5xx, and
its outcome is kept in `sent` (what tests and logs look at).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from lxml import etree

from simulators import wsse
from simulators.security import REQUEST_COMPONENTS, AgencyKeys, Message, sign_http

log = logging.getLogger(__name__)
GATEWAY_NS = "urn:kz:nsw:gateway:1"
SOAP_ACTION = '"urn:kz:nsw:gateway:1#SubmitAgencyAnswer"'
ATTEMPTS = 5


@dataclass(frozen=True)
class Delivery:
    url: str
    status: int | None  # None: no HTTP answer at all
    body: bytes


def submit_answer(case_id: str, answer: etree._Element) -> etree._Element:
    """The gateway's SubmitAgencyAnswer element carrying (a copy of) `answer`."""
    submit = etree.Element(f"{{{GATEWAY_NS}}}SubmitAgencyAnswer", nsmap={"g": GATEWAY_NS})
    etree.SubElement(submit, f"{{{GATEWAY_NS}}}CaseId").text = case_id
    etree.SubElement(submit, f"{{{GATEWAY_NS}}}Answer").append(copy.deepcopy(answer))
    return submit


def soap_callback(case_id: str, answer: etree._Element) -> etree._Element:
    """The unsigned SubmitAgencyAnswer envelope for `answer`."""
    env = etree.Element(f"{{{wsse.SOAP11}}}Envelope", nsmap={"soap": wsse.SOAP11})
    etree.SubElement(env, f"{{{wsse.SOAP11}}}Body").append(submit_answer(case_id, answer))
    return env


def signed_soap(
    envelope: etree._Element,
    keys: AgencyKeys,
    signer_key: object = None,
    confirm: str | None = None,
) -> bytes:
    wsse.sign(envelope, signer_key or keys.key, keys.cert, confirm)
    data: bytes = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return data


def signed_json(url: str, body: bytes, keys: AgencyKeys, signer_key: object = None) -> Message:
    message = Message({"Content-Type": "application/json"}, method="POST", url=url)
    sign_http(message, body, signer_key or keys.key, keys.cert, REQUEST_COMPONENTS)
    return message


@dataclass
class CallbackSender:
    """Posts callbacks in background threads; `sent` lists every final delivery outcome."""

    sent: list[Delivery] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def later(self, delay_s: float, post: Callable[[], Delivery]) -> None:
        def run() -> None:
            if self.stopped.wait(delay_s):
                return
            self.record(post())

        threading.Thread(target=run, name="sim-callback", daemon=True).start()

    def record(self, delivery: Delivery) -> None:
        with self._lock:
            self.sent.append(delivery)

    def stop(self) -> None:
        self.stopped.set()


def post(url: str, data: bytes, headers: dict[str, str], stop: threading.Event) -> Delivery:
    """POST with a few retries on connection errors and 5xx answers (backing off 0.2 s, 0.4 s ...)."""
    delivery = Delivery(url, None, b"")
    for attempt in range(ATTEMPTS):
        try:
            response = requests.post(
                url, data=data, headers=headers, timeout=10, allow_redirects=False
            )
            delivery = Delivery(url, response.status_code, response.content)
            if response.status_code < 500:
                return delivery
        except requests.RequestException as exc:
            log.warning("callback to %s failed: %s", url, exc)
        if stop.wait(0.2 * 2**attempt):
            break
    return delivery
