"""Limits of the values the gateway keeps: each column's width and character set, as `Text` kinds.

Free of Flask, so the RFC 9421 profile (gateway.trust.http_signatures) and the web edge
(gateway.web.params) check against the same numbers; every limit names its column in
gateway/storage/models.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.i18n.text import Text as Sentence

INT63_MAX = 2**63 - 1  # BigInteger columns, and every INTEGER in SQLite
INT32_MAX = 2**31 - 1  # Integer columns on PostgreSQL


def shown(value: str) -> str:
    """A value quoted back in a message, cut short so a huge input cannot flood the answer."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


@dataclass(frozen=True)
class Text:
    """A kind of string: at most `max_length` characters (the column's width), each matching
    `chars` (a regex character class), described for people as `what`."""

    what: str
    max_length: int
    chars: str = r"[\x21-\x7e]"  # visible ASCII
    min_length: int = 1

    def matches(self, value: str) -> bool:
        if not self.min_length <= len(value) <= self.max_length:
            return False
        return re.fullmatch(f"{self.chars}*", value) is not None

    def sentence(self, name: str) -> str:
        # A sentence said again in the reader's language (gateway.i18n); `what` is in the catalogs.
        return Sentence(
            "%(name)s must be %(what)s: %(min)s to %(max)s characters of %(chars)s.",
            name=repr(name), what=Sentence(self.what), min=self.min_length,
            max=self.max_length, chars=self.chars,
        )  # fmt: skip


# The kinds the gateway's columns take (gateway/storage/models.py).
IDENTIFIER = Text("an identifier issued by the gateway", 64, r"[A-Za-z0-9._:-]")
APPLICATION_ID = Text("an application id (NSW-YYYYMMDD-...)", 40, r"[A-Za-z0-9._-]")
CASE_ID = Text("a case id", 48, r"[A-Za-z0-9._-]")
RECORD_ID = Text("a visit, transit, notice or finding id", 40, r"[A-Za-z0-9._:-]")
AGENCY = Text("an agency code", 32, r"[a-z0-9_-]")
CHECKPOINT = Text("a checkpoint code (KZ-...)", 32, r"[A-Z0-9-]")
STATE = Text("a state name", 16, r"[a-z_-]")
USERNAME = Text("a user name", 64, r"[A-Za-z0-9._@-]")
NONCE = Text("a nonce", 128, r"[\x21-\x7e]")  # RequestNonceRow.nonce is String(128)
KEYID = Text("the SHA-256 fingerprint of a certificate, in hex", 64, r"[0-9a-f]", 64)
SHA256 = Text("a SHA-256 digest in lowercase hex", 64, r"[0-9a-f]", 64)  # attachment_blobs.sha256
PERSON = Text("a person's name", 128, r"[^\x00-\x1f\x7f]")  # who acted, kept in trail JSON
ALERT_KEY = Text("an alert key", 64)  # e.g. speed@2026-11-27T06:00:00+00:00, kept in JSON
PASSWORD = Text("a password", 1024, r"[^\x00-\x1f\x7f]", 0)  # hashed, but hashing megabytes is work
# Free text kept in Text columns or JSON: bounded so one form cannot store megabytes, and without
# control characters other than line breaks and tabs.
NOTE = Text("a short text", 2000, r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", 0)
