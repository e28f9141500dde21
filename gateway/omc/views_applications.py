"""Applications: the live list with filters, and one application with its cases, its messages
(each linked to its trail entry and inclusion proof) and its decision."""

from __future__ import annotations

from typing import cast

from flask import Response, abort, render_template, request

from gateway.domain.views import ApplicationStatus
from gateway.errors import NotFound
from gateway.i18n import Text
from gateway.limits import APPLICATION_ID
from gateway.omc import queries
from gateway.omc.auth import officer, requires, services
from gateway.omc.blueprint import bp
from gateway.omc.errors import RoleForbidden
from gateway.omc.roles import Perm
from gateway.trail.format import read_entry
from gateway.trail.merkle import MerkleProofError, leaf_hash, verify_inclusion
from gateway.web.attachments_api import documents_json
from gateway.web.live_refresh import live_refresh
from gateway.web.params import path_text


def may_download(agency: str | None, wanted_by: object) -> bool:
    """Operators and auditors (no agency) may download a supporting document; an agency's
    officer when the agency wants it (its mapping's `wants_documents`, and it has a case)."""
    return agency is None or (isinstance(wanted_by, list) and agency in wanted_by)


def _filters_context() -> dict[str, object]:
    svc = services()
    return {
        "filters": queries.Filters.from_args(request.args),
        "agencies": sorted(svc.specs),
        "checkpoints": sorted(svc.checkpoint.registry.checkpoints),
        "since_options": list(queries.SINCE_HOURS),
    }


@bp.get("/")
@requires(Perm.VIEW_AGENCIES)
def home() -> Response | str:
    if officer().may(Perm.VIEW_OPS):
        return applications()
    from gateway.omc.views_agencies import agencies

    return agencies()


@bp.get("/applications")
@requires(Perm.VIEW_OPS)
def applications() -> str:
    context = _filters_context()
    filters = cast(queries.Filters, context["filters"])
    svc = services()
    rows = queries.list_applications(svc.omc.applications, officer(), filters, svc.clock())
    return render_template("omc/applications.html", rows=rows, **context)


@bp.get("/applications/rows")
@live_refresh
@requires(Perm.VIEW_OPS)
def application_rows() -> str:
    filters = queries.Filters.from_args(request.args)
    svc = services()
    rows = queries.list_applications(svc.omc.applications, officer(), filters, svc.clock())
    return render_template("omc/_application_rows.html", rows=rows)


def _visible_application(application_id: str) -> ApplicationStatus:
    path_text(application_id, APPLICATION_ID, "application")
    app = services().store.application(application_id)
    if app is None:
        raise NotFound(Text("There is no application %(id)s.", id=application_id))
    who = officer()
    cases = tuple(c for c in app.cases if who.sees_agency(c.agency))
    if not cases and who.agency:
        raise RoleForbidden(
            Text("Application %(id)s has no case for %(agency)s.", id=application_id,
                 agency=who.agency)
        )  # fmt: skip
    return app.with_cases(cases)


@bp.get("/applications/<application_id>")
@requires(Perm.VIEW_OPS)
def application(application_id: str) -> str:
    return render_template("omc/application.html", **_detail(application_id))


@bp.get("/applications/<application_id>/body")
@live_refresh
@requires(Perm.VIEW_OPS)
def application_body(application_id: str) -> str:
    return render_template("omc/_application_body.html", **_detail(application_id))


def _detail(application_id: str) -> dict[str, object]:
    app = _visible_application(application_id)
    who = officer()
    messages = queries.application_messages(services().omc.applications, application_id, who)
    # The trader's notifications carry the whole decision: not for one agency's officers.
    notifications = [] if who.agency else services().notifications.for_application(application_id)
    # Issue 19: the signed versions, and the permits an amendment superseded or a withdrawal
    # cancelled (an agency's officers see their agency's permits only).
    versions, permits = services().lifecycle.store.history(application_id)
    permits = [p for p in permits if who.sees_agency(p.agency)]
    # Every entry of the signed application; which of the visible cases' agencies want each, and
    # whether this officer may download it (gateway.omc.views_documents checks it again).
    documents = [
        d | {"downloadable": d["uploaded"] and may_download(who.agency, d["wanted_by"])}
        for d in documents_json(application_id, [c.agency for c in app.cases])
    ]
    return {
        "app": app, "messages": messages, "notifications": notifications,
        "versions": versions, "permits": permits, "documents": documents,
    }  # fmt: skip


@bp.get("/applications/<application_id>/decision.xml")
@requires(Perm.VIEW_OPS)
def decision_xml(application_id: str) -> Response:
    _visible_application(application_id)
    xml = services().store.decision_xml(application_id)
    if xml is None:
        abort(404)
    return Response(xml, mimetype="application/xml")


@bp.get("/trail/<int:seq>")
@requires(Perm.VIEW_OPS)
def trail_entry(seq: int) -> str:
    """One trail entry, and its inclusion proof checked against the latest signed tree head."""
    svc = services()
    row = queries.message_row(svc.omc.applications, seq)
    if row is None:
        raise NotFound(Text("There is no trail entry %(seq)s.", seq=seq))
    who = officer()
    if who.agency:
        if row.agency and not who.sees_agency(row.agency):
            raise RoleForbidden(
                Text("Trail entry %(seq)s belongs to another agency's case.", seq=seq)
            )
        if row.application_id is None:
            raise RoleForbidden(
                Text("Trail entry %(seq)s is not about your agency's cases.", seq=seq)
            )
        _visible_application(row.application_id)
    head = svc.auditor.latest_tree_head()
    proof: list[bytes] = []
    verified = None
    if seq < head.size:
        proof = svc.auditor.inclusion(seq, head.size)
        try:
            verify_inclusion(leaf_hash(row.entry), seq, head.size, proof, head.root)
            verified = True
        except MerkleProofError:
            verified = False
    return render_template(
        "omc/trail_entry.html",
        row=row,
        fields=read_entry(row.entry),
        leaf=leaf_hash(row.entry).hex(),
        head=head,
        proof=[p.hex() for p in proof],
        verified=verified,
    )
