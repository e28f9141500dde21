"""The trail as a C2SP tiled transparency log (c2sp.org/tlog-tiles): the signed checkpoint and the
tiles and entry bundles under /api/v1/trail.

Behind the audit bearer token (NSW_AUDIT_TOKENS), like the rest of the audit API: entries name
applications, agencies, traders' signers and times, which is the ministry's business, not the
public's. A witness needs none of this (it gets checkpoints and proofs pushed to it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app

from gateway.errors import NotFound
from gateway.i18n.text import Text
from gateway.trail.audit import Auditor
from gateway.trail.tiles import TileError, parse_tile_path
from gateway.web.audit_api import require_auditor

if TYPE_CHECKING:
    from gateway.bootstrap import Services

bp = Blueprint("trail", __name__, url_prefix="/api/v1/trail")
bp.before_request(require_auditor)

# Full tiles and bundles never change (tlog-tiles: "immutable"); a partial one is replaced by a
# wider one as the log grows, so it is kept briefly; the checkpoint changes every few seconds.
FULL_CACHE = "private, max-age=31536000, immutable"
PARTIAL_CACHE = "private, max-age=60"
CHECKPOINT_CACHE = "private, max-age=2"


def _auditor() -> Auditor:
    services: Services = current_app.extensions["nsw"]
    return services.auditor


@bp.get("/checkpoint")
def checkpoint() -> Response:
    response = Response(_auditor().checkpoint_note(), content_type="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = CHECKPOINT_CACHE
    return response


@bp.get("/tile/<path:rest>")
def tile(rest: str) -> Response:
    try:
        wanted = parse_tile_path("tile/" + rest)
    except TileError as exc:
        raise NotFound(Text("No such tile: %(exc)s", exc=exc)) from exc
    response = Response(_auditor().tile(wanted), content_type="application/octet-stream")
    response.headers["Cache-Control"] = FULL_CACHE if wanted.full else PARTIAL_CACHE
    return response
