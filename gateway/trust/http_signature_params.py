"""The parameters of the gateway's RFC 9421 profile (gateway.trust.http_signatures): the bounds
a signature's parameters must keep before any key is looked up or any nonce stored, and the
replay window of `created`/`expires` (RFC 9421 §2.3, §7.2.2), for both its verification paths."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from gateway.limits import KEYID, NONCE, shown

MAX_AGE = dt.timedelta(minutes=5)
CLOCK_SKEW = dt.timedelta(seconds=30)


class SignatureRefused(Exception):
    """The request's signature is missing, malformed, or does not verify under the profile."""


def check_params(params: dict[str, Any]) -> None:
    """Refuse parameters that no signature of ours can carry, before any key is looked up or any
    nonce stored: `keyid` is a SHA-256 fingerprint in hex (TraderCertificateRow.fingerprint and
    RequestNonceRow.keyid are String(64)), `nonce` is 1-128 visible ASCII characters
    (RequestNonceRow.nonce is String(128)), `created` and `expires` are non-negative integers
    (RFC 9421 §2.3) with `expires` not before `created`."""
    keyid = params.get("keyid")
    if not isinstance(keyid, str) or not KEYID.matches(keyid):
        raise SignatureRefused(
            f'"keyid" must be the SHA-256 fingerprint of your certificate as 64 lowercase hex '
            f"digits, not {shown(str(keyid))}"
        )
    nonce = params.get("nonce")
    if nonce is not None and (not isinstance(nonce, str) or not NONCE.matches(nonce)):
        raise SignatureRefused(
            f'"nonce" must be a string of 1 to {NONCE.max_length} visible ASCII characters '
            f"(a fresh random one per request), not {shown(str(nonce))}"
        )
    for name in ("created", "expires"):
        value = params.get(name)
        if value is not None and (type(value) is not int or value < 0):
            raise SignatureRefused(f'"{name}" must be a non-negative integer (RFC 9421 §2.3)')
    created, expires = params.get("created"), params.get("expires")
    if isinstance(created, int) and isinstance(expires, int) and expires < created:
        raise SignatureRefused('"expires" is before "created"')


# The last second a datetime can hold (9999-12-31T23:59:59Z): a later `expires` is refused as out
# of range, as it always was, but by comparing integers, so that no value is an error (a 500).
LAST_SECOND = 253402300799


def outside_window(params: Mapping[str, Any], now: dt.datetime) -> str | None:
    """Why `created`/`expires` put a signature outside the replay window, or None: both present
    integers, `created` at most `MAX_AGE` old and at most `CLOCK_SKEW` ahead, `expires` not
    passed and not beyond year 9999 (RFC 9421 §2.3, §7.2.2). Compared as integers."""
    created, expires = params.get("created"), params.get("expires")
    for name, value in (("created", created), ("expires", expires)):
        if type(value) is not int:
            return f'"{name}" must be an integer (RFC 9421 §2.3)'
        if not 0 <= value <= LAST_SECOND:
            return f'"{name}" is out of range'
    assert isinstance(created, int) and isinstance(expires, int)
    if created > (now + CLOCK_SKEW).timestamp():
        return '"created" is in the future; check your clock'
    if created < (now - MAX_AGE).timestamp():
        return f'"created" is older than {int(MAX_AGE.total_seconds())} s'
    if expires < (now - CLOCK_SKEW).timestamp():
        return 'the signature has expired ("expires" has passed)'
    return None
