"""The audit API: signed tree heads, inclusion and consistency proofs, application entries and
evidence bundles. Auditor-only: a bearer token from NSW_AUDIT_TOKENS (until the roles of the OMC
arrive, see issue 10)."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.audit import Auditor
from gateway.bootstrap import Services
from gateway.errors import GatewayError
from gateway.web.bearer import bearer_token_in

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
        "The audit API is for auditors: send 'Authorization: Bearer <token>' with an audit token "
        "issued by the gateway operator."
    )


def _is_number(value: str) -> bool:
    # Only ASCII digits: str.isdigit() also says yes to superscripts ("²"), which int() refuses.
    return value.isascii() and value.isdigit()


def _int_arg(name: str) -> int:
    value = request.args.get(name, "")
    if not _is_number(value):
        from gateway.audit import BadProofRequest

        raise BadProofRequest(f"Query parameter {name!r} must be a non-negative integer.")
    return int(value)


@bp.get("/tree-head")
def tree_head() -> Response:
    size = request.args.get("size")
    head = (
        _auditor().tree_head(int(size))
        if size and _is_number(size)
        else _auditor().latest_tree_head()
    )
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
    rows = _auditor().entries(application_id)
    return jsonify(
        [
            {
                "seq": r.seq,
                "kind": r.kind,
                "direction": r.direction,
                "counterpart": r.counterpart,
                "sha256": r.sha256,
                "entry": base64.b64encode(r.entry).decode("ascii"),
            }
            for r in rows
        ]
    )


@bp.get("/applications/<application_id>/bundle")
def bundle(application_id: str) -> Response:
    return jsonify(_auditor().bundle(application_id))
