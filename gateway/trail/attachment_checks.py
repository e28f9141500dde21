"""The offline verifier's step for supporting documents (issue 19, item 3): every document a
bundle carries, and every upload the trail cites, is one the signed application lists — its
SHA-256 and size equal the signed entry's.

Returns plain findings (ok, what, check, detail) that gateway.trail.verify reports as checks.
The application's entries are read from the application and amendment entries of the bundle (any
signed version), which step 3 of the verifier has checked (body hash, inclusion, the declarant's
XML signature over the whole document)."""

from __future__ import annotations

import hashlib
import json

from gateway.errors import GatewayError
from gateway.trail.bundle import Bundle
from gateway.trust.xmlparse import parse_xml

APP = "{urn:kz:nsw:application:1}"
Finding = tuple[bool, str, str, str]


def signed_digests(bundle: Bundle) -> dict[str, int]:
    """SHA-256 -> size of every document entry of the bundle's application(s), in every signed
    version: a document uploaded for version 1 and replaced by an amendment (another digest) was
    a signed entry when it was uploaded, and stays in the evidence."""
    found: dict[str, int] = {}
    for item in bundle.entries:
        if item.kind not in ("application", "amendment"):
            continue
        try:
            root = parse_xml(item.body)
        except (GatewayError, ValueError):
            continue  # reported by the entry's own checks
        for doc in root.iterfind(f"{APP}Documents/{APP}Document"):
            sha, size = doc.findtext(f"{APP}SHA256"), doc.findtext(f"{APP}Size")
            if sha and size and size.strip().isdigit():
                found[sha.strip()] = int(size)
    return found


def attachment_findings(bundle: Bundle) -> list[Finding]:
    signed = signed_digests(bundle)
    findings: list[Finding] = []
    cited: set[str] = set()
    for item in bundle.entries:
        if item.kind != "attachment":
            continue
        what = f"entry {item.seq} attachment"
        try:
            record = json.loads(item.body)
            sha = str(record["sha256"])
            size = int(record["size"])
        except (ValueError, KeyError, TypeError) as exc:
            findings.append((False, what, "cites a document by digest", str(exc)))
            continue
        cited.add(sha)
        findings.append(
            (
                signed.get(sha) == size,
                what,
                "cites a document the signed application lists",
                f"{sha[:12]}…, {size} bytes",
            )
        )
    for doc in bundle.attachments:
        sha, data = doc.sha256, doc.content
        what = f"document {sha[:12]}…"
        actual = hashlib.sha256(data).hexdigest()
        findings.append((actual == sha, what, "SHA-256 of the content", actual))
        findings.append(
            (
                signed.get(actual) == len(data),
                what,
                "equals an entry (SHA-256 and size) of the signed application",
                "",
            )
        )
        findings.append((actual in cited, what, "its upload is in the trail", ""))
    return findings
