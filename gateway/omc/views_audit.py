"""The auditor's views: the latest signed tree head, the latest OMC sign-ins, and evidence-bundle
export."""

from __future__ import annotations

import json

from flask import Response, render_template

from gateway.limits import APPLICATION_ID
from gateway.omc import queries
from gateway.omc.auth import requires, services
from gateway.omc.blueprint import bp
from gateway.omc.roles import Perm
from gateway.web.params import path_text


@bp.get("/audit")
@requires(Perm.AUDIT)
def audit() -> str:
    svc = services()
    return render_template(
        "omc/audit.html",
        head=svc.auditor.latest_tree_head(),
        sign_ins=queries.sign_ins(svc.omc.applications),
    )


@bp.get("/audit/bundles/<application_id>.json")
@requires(Perm.AUDIT)
def bundle(application_id: str) -> Response:
    """The evidence bundle (verifies offline with `nsw audit verify`)."""
    path_text(application_id, APPLICATION_ID, "application")  # it is also the file's name
    doc = services().auditor.bundle(application_id)
    response = Response(json.dumps(doc, indent=1), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{application_id}.bundle.json"'
    return response
