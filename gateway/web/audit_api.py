"""The audit API: signed tree heads, inclusion and consistency proofs, application entries and
evidence bundles. Auditor-only: a bearer token from NSW_AUDIT_TOKENS (until the roles of the OMC
arrive, see issue 10)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, jsonify

from gateway.errors import GatewayError
from gateway.i18n.text import Text
from gateway.limits import APPLICATION_ID
from gateway.trail.audit import Auditor, BadProofRequest
from gateway.web.bearer import bearer_token_in
from gateway.web.params import path_text, query_int

if TYPE_CHECKING:
    from gateway.bootstrap import Services

bp = Blueprint("audit", __name__, url_prefix="/api/v1/audit")


class AuditorOnly(GatewayError):
    code, status, title = "auditor-only", 401, "Auditor credentials required"


def _services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


def _auditor() -> Auditor:
    return _services().auditor


@bp.before_request
def require_auditor() -> None:
    if bearer_token_in(_services().config.audit_tokens):
        return
    raise AuditorOnly(
        Text(
            "The audit API is for auditors: send 'Authorization: Bearer <token>' with an audit "
            "token issued by the gateway operator."
        )
    )


def _int_arg(name: str) -> int:
    """A required tree size or index: 0..2^63-1 (MessageRow.seq and TreeHeadRow.size are
    BIGINT), so an out-of-range one is a 400 problem, never an overflow in the query."""
    value = query_int(name)
    if value is None:
        raise BadProofRequest(
            Text("Query parameter %(name)r is required: a non-negative integer.", name=name)
        )
    return value


@bp.get("/tree-head")
def tree_head() -> Response:
    size = query_int("size")
    head = _auditor().latest_tree_head() if size is None else _auditor().tree_head(size)
    return jsonify(head.to_json())


@bp.get("/proofs/inclusion")
def inclusion() -> Response:
    seq, size = _int_arg("seq"), _int_arg("size")
    proof = _auditor().inclusion(seq, size)
    return jsonify({"seq": seq, "size": size, "proof": [p.hex() for p in proof]})


@bp.get("/proofs/consistency")
def consistency() -> Response:
    first, second = _int_arg("first"), _int_arg("second")
    proof = _auditor().consistency(first, second)
    return jsonify({"first": first, "second": second, "proof": [p.hex() for p in proof]})


@bp.get("/applications/<application_id>/entries")
def entries(application_id: str) -> Response:
    rows = _auditor().entries(path_text(application_id, APPLICATION_ID, "application"))
    # A message that arrived while we read may still be queued: no seq and no entry yet.
    return jsonify(
        [
            {
                "seq": r.seq,
                "kind": r.kind,
                "direction": r.direction,
                "counterpart": r.counterpart,
                "sha256": r.sha256,
                "entry": None if r.seq is None else base64.b64encode(r.entry).decode("ascii"),
            }
            for r in rows
        ]
    )


@bp.get("/applications/<application_id>/bundle")
def bundle(application_id: str) -> Response:
    return jsonify(_auditor().bundle(path_text(application_id, APPLICATION_ID, "application")))
