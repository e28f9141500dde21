"""`nsw attach ID FILE...` against a running gateway: each file uploaded as a signed PUT by its
SHA-256, a summary line per document, and a refusal ending in a sentence and exit code 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from gateway.bootstrap import Services
from gateway.cli.main import main
from gateway.pki.dev import DevPki
from tests.attachments import PDF, PNG, Entry, listing
from tests.gateway_fixtures import KeyringClient


def test_attach_uploads_each_listed_file_and_says_why_one_is_refused(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    pki: DevPki,
    signed_sample: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    url, services, client = gateway_at()
    pdf, png = Entry(PDF), Entry(PNG, type="cmr", number="CMR-1", media_type="image/png")
    application_id = client.submit(signed_sample("fresh-apples-import", edit=listing(pdf, png)))[
        "id"
    ]
    (tmp_path / "invoice.pdf").write_bytes(PDF)
    (tmp_path / "cmr.png").write_bytes(PNG)
    (tmp_path / "other.pdf").write_bytes(PDF.replace(b"Catalog", b"Catalox"))
    trader = ["--url", url, "--key", str(pki.key_path("trader-steppe"))]
    trader += ["--cert", str(pki.cert_path("trader-steppe"))]

    files = [str(tmp_path / "invoice.pdf"), str(tmp_path / "cmr.png")]
    done = CliRunner().invoke(main, ["attach", application_id, *files, *trader])
    assert done.exit_code == 0, done.output
    assert f"invoice INV-ATT-1 (application/pdf, {len(PDF)} bytes, SHA-256 {pdf.digest})" in (
        done.output
    )
    assert "cmr CMR-1 (image/png" in done.output
    assert services.attachments.uploaded(application_id) == {pdf.digest, png.digest}

    refused = CliRunner().invoke(
        main, ["attach", application_id, str(tmp_path / "other.pdf"), *trader]
    )
    assert refused.exit_code == 1
    assert "other.pdf: 404" in refused.output  # its digest is no listed document's
    assert "Traceback" not in refused.output
