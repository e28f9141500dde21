"""The gateway's own API contract: GET /api/v1/openapi.json and a docs page at GET /api/v1/docs.

The document is a file beside the gateway's WSDL (wsdl/gateway/openapi.json), found through
`Config.wsdl_dir` like every other contract, and served byte for byte. The docs page is rendered
on the server from that same document (gateway.web.api_docs): no scripts, no CDN, nothing to
vendor, and it can never describe another API than the one served.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app

from gateway.web.api_docs import render_docs

if TYPE_CHECKING:
    from gateway.bootstrap import Services

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")


def document_path(wsdl_dir: Path) -> Path:
    """Where the gateway's OpenAPI document lives among the contracts."""
    return wsdl_dir / "gateway" / "openapi.json"


def _document_bytes() -> bytes:
    svc: Services = current_app.extensions["nsw"]
    return document_path(svc.config.wsdl_dir).read_bytes()


@bp.get("/openapi.json")
def document() -> Response:
    return Response(_document_bytes(), mimetype="application/json")


@bp.get("/docs")
def docs() -> Response:
    doc: dict[str, Any] = json.loads(_document_bytes())
    # The page has no script at all; its one inline style block is allowed by a fresh nonce
    # rather than 'unsafe-inline', so text from the document can never become style or script.
    nonce = secrets.token_urlsafe(16)
    response = Response(render_docs(doc, nonce), mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
