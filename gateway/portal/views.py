"""The trader's applications: the list (its own company and those it represents), one
application with its per-agency cases (refreshed live), and the signed downloads.

Another company's application answers exactly as an id that does not exist — 404, the API's
problem type and sentence — so a trader cannot learn which ids exist (issue 15, item 9)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, render_template, request, url_for

from gateway.domain.views import APPLICATION_STATES, ApplicationStatus
from gateway.errors import DecisionNotReady, NotFound, NotYourApplication
from gateway.i18n import Text
from gateway.intake.receipt import signed_receipt
from gateway.lifecycle.rules import Stage
from gateway.limits import APPLICATION_ID
from gateway.portal import live
from gateway.portal.auth import services, trader
from gateway.portal.blueprint import bp
from gateway.web import application_list
from gateway.web.attachments_api import documents_json
from gateway.web.live_refresh import live_refresh
from gateway.web.params import path_text

SETTLED = ("granted", "refused", "inspection")


@bp.get("/")
def applications() -> str:
    """One company's applications, newest first, a page at a time (the API's list and cursor)."""
    who = trader()
    declarant = application_list.read_declarant() if request.args.get("declarant") else who.bin
    if not who.may_act_for(declarant):
        raise NotYourApplication(  # the API's answer to the same question (gateway.web.api)
            Text(
                "The applications belong to another company; a trader sees only its own "
                "applications and those of companies it is registered to represent."
            )
        )
    key = application_list.cursor_key(services().identity.key_pem)
    query = application_list.read_query(declarant, key)
    page = services().store.applications_page(
        declarant, limit=query.limit, state=query.state, since=query.since, after=query.after
    )
    next_url = None
    if page.more and page.last is not None:
        cursor = application_list.make_cursor(key, query, page.last)
        args: dict[str, Any] = {"declarant": declarant, "state": query.state, "cursor": cursor}
        next_url = url_for("portal.applications", **{k: v for k, v in args.items() if v})
    return render_template(
        "portal/applications.html",
        items=page.items,
        declarant=declarant,
        state=query.state,
        states=APPLICATION_STATES,
        companies=who.companies(),
        next_url=next_url,
    )


def readable(application_id: str) -> ApplicationStatus:
    """The application, if the signed-in trader may see it; 404 otherwise (as for no such id)."""
    path_text(application_id, APPLICATION_ID, "application")
    app = None
    if trader().may_act_for(services().store.declarant_bin(application_id)):
        app = services().store.application(application_id)
    if app is None:
        raise NotFound(  # the API's sentence (gateway.web.api)
            Text(
                "There is no application %(id)s of your company or of a company you are "
                "registered to represent.",
                id=application_id,
            )
        )
    return app


def decided(app: ApplicationStatus) -> bool:
    """Whether a decision is in force: made, and not being made again after an amendment (the
    API's decision answers 409 until the agencies asked again have answered)."""
    return app.decided_at is not None and app.status != "in_progress"


def decision_version(application_id: str, decided: bool) -> int | None:
    """The version of the decision in force, as the next one names it: how many decisions the
    trail holds for the application (every decision ever signed is there). None before the
    first."""
    if not decided:
        return None
    kinds = [m.kind for m in services().store.messages(application_id)]
    return max(kinds.count("decision"), 1)


def detail(application_id: str) -> dict[str, Any]:
    app = readable(application_id)
    lifecycle = services().lifecycle.store
    versions, retired_permits = lifecycle.history(application_id)
    current = lifecycle.current(application_id)
    assert current is not None  # readable: it exists, and applications are never deleted
    return {
        "app": app,
        "decided": decided(app),
        "waiting": [c.agency for c in app.cases if c.state not in SETTLED],
        "notifications": services().notifications.for_application(application_id),
        "documents": documents_json(application_id, [c.agency for c in app.cases]),
        "versions": versions,
        "retired_permits": retired_permits,
        "current": current,
        "changeable": current.stage not in (Stage.WITHDRAWN, Stage.EXITED),
        "withdraw_reasons": sorted(services().lifecycle.rules.withdraw_reasons),
        "decision_version": decision_version(application_id, decided(app)),
    }


@bp.get("/applications/<application_id>")
def application(application_id: str) -> str:
    return render_template("portal/application.html", **detail(application_id))


@bp.get("/applications/<application_id>/body")
@live_refresh
def application_body(application_id: str) -> str:
    """The part of the page that the live stream refreshes."""
    return render_template("portal/_application_body.html", **detail(application_id))


@bp.get("/applications/<application_id>/events")
@live_refresh
def events(application_id: str) -> Response:
    readable(application_id)
    response = Response(live.stream(services(), application_id), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # no proxy buffering of the stream
    return response


def _download(body: bytes, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/applications/<application_id>/decision.xml")
def decision(application_id: str) -> Response:
    app = readable(application_id)
    xml = services().store.decision_xml(application_id)
    if xml is None or app.status == "in_progress":  # as the API: an amendment is checked again
        waiting = [c.agency for c in app.cases if c.state not in SETTLED]
        raise DecisionNotReady(
            Text(
                "The decision is not made yet; waiting for: %(agencies)s. This page shows it as "
                "soon as it is made.",
                agencies=", ".join(waiting),
            ),
            waiting_for=waiting,
        )
    return _download(xml, "application/xml", f"{application_id}-decision.xml")


@bp.get("/applications/<application_id>/receipt.xml")
def receipt(application_id: str) -> Response:
    app = readable(application_id)
    xml = signed_receipt(services().identity, app)
    return _download(xml, "application/xml", f"{application_id}-receipt.xml")


@bp.get("/applications/<application_id>/evidence.json")
def evidence(application_id: str) -> Response:
    readable(application_id)
    bundle = json.dumps(services().auditor.bundle(application_id), indent=1).encode()
    return _download(bundle, "application/json", f"{application_id}-evidence.json")
