"""The demo's supporting document (issue 19, item 3): a consignment of chilled lamb lodged with its
veterinary certificate's SHA-256 in the signed application; the veterinary committee's case waits
for the upload while the other agencies answer; `nsw attach` uploads the bytes; the stand-in
checks the digest it receives; the evidence bundle carries the document and verifies offline."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.cli.client import GatewayClient
from gateway.cli.trader import status_lines
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import sign_enveloped

LAMB = "chilled-lamb-import"
AGENCY = "veterinary"
NUMBER = b"UZ-VET-2026-114507"
# A small certificate: what the trader scanned. PDF by its magic bytes, ending at %%EOF.
CERTIFICATE = (
    b"%PDF-1.7\n% Veterinary certificate UZ-VET-2026-114507, Samarkand region\n"
    b"1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
Say = Callable[[str], None]


def _with_digest(raw: bytes, data: bytes) -> bytes:
    """The sample, its veterinary certificate entry naming the bytes: media type, size, SHA-256."""
    issuer_end = raw.index(b"</Issuer>", raw.index(NUMBER)) + len(b"</Issuer>")
    entry = (
        f"\n      <MediaType>application/pdf</MediaType><Size>{len(data)}</Size>"
        f"\n      <SHA256>{hashlib.sha256(data).hexdigest()}</SHA256>"
    ).encode()
    raw = raw[:issuer_end] + entry + raw[issuer_end:]
    return raw.replace(b"<TraderReference>", b"<TraderReference>DOCS-", 1)


def _wait(condition: Callable[[], Any], deadline_s: float = 60.0) -> Any:
    give_up = time.monotonic() + deadline_s
    while not (value := condition()):
        if time.monotonic() > give_up:
            return None
        time.sleep(0.2)
    return value


def run_documents_demo(
    samples: Path,
    trader: GatewayClient,
    credentials: tuple[Path, Path],
    gateway_url: str,
    workdir: Path,
    verify: Callable[[str], int],
    echo: Say,
    ok: Say,
    bad: Say,
) -> int:
    """`trader` signs as the lamb's declarant, whose key and certificate files are `credentials`;
    `verify(id)` checks the application's evidence bundle offline. Returns the failed checks."""
    assert trader.identity is not None
    digest = hashlib.sha256(CERTIFICATE).hexdigest()
    document = parse_xml(_with_digest((samples / f"{LAMB}.xml").read_bytes(), CERTIFICATE))
    lodged = trader.submit(sign_enveloped(document, trader.identity))
    application_id = lodged["id"]
    ok(f"{LAMB} with its veterinary certificate's digest: {application_id}")
    echo(f"   signed entry: veterinary-certificate {NUMBER.decode()}, application/pdf, "
         f"{len(CERTIFICATE)} bytes, SHA-256 {digest[:16]}...")  # fmt: skip

    def others_answered() -> dict[str, Any] | None:
        status: dict[str, Any] = trader.status(application_id)
        others = [c["state"] for c in status["cases"] if c["agency"] != AGENCY]
        return status if "queued" not in others else None

    failures = 0
    status = _wait(others_answered)
    waiting = [c for c in (status or {}).get("cases", []) if c["agency"] == AGENCY]
    if status is None or not waiting or waiting[0]["state"] != "queued":
        bad(f"{application_id}: the veterinary case did not wait for the document")
        return 1
    echo(f"   $ nsw status {application_id}   (the other agencies answered)")
    for line in status_lines(status):
        if line.split()[:1] == [AGENCY] or "waiting" in line:
            echo(f"     {line}")
    ok("the case of the agency that wants the document waits for its upload")

    path = workdir / f"{NUMBER.decode()}.pdf"
    path.write_bytes(CERTIFICATE)
    key, cert = credentials
    echo(f"   $ nsw attach {application_id} {path.name}")
    attached = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "attach", application_id, str(path),
         "--url", gateway_url, "--key", str(key), "--cert", str(cert)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    for line in (attached.stdout + attached.stderr).splitlines():
        echo(f"     {line}")
    if attached.returncode != 0:
        bad("nsw attach failed")
        return failures + 1

    try:
        trader.wait_for_decision(application_id, deadline_s=60)
    except TimeoutError as exc:
        bad(str(exc))
        return failures + 1
    case = next(c for c in trader.status(application_id)["cases"] if c["agency"] == AGENCY)
    log = workdir / "logs" / f"{AGENCY}.log"
    checked = [
        line for line in log.read_text(errors="replace").splitlines() if digest in line
    ]  # what the stand-in printed when the digest it received matched the signed one
    for line in checked[-1:]:
        echo(f"   {AGENCY} stand-in: {line}")
    if case["state"] != "escalated" and checked:
        ok(f"the veterinary committee received the certificate, checked its SHA-256: "
           f"{case['state']}")  # fmt: skip
    else:
        failures += 1
        bad(f"{AGENCY}: {case['state']}, digest check in its log: {bool(checked)}")
    echo("   the evidence bundle carries the document; the verifier hashes it against the entry")
    return failures + verify(application_id)
