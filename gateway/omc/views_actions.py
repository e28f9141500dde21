"""Officers' actions as forms. Each is posted twice: the first post shows what will happen and asks
for confirmation (works without script); the second, with `confirm=yes`, does it. The role is checked
by `requires` and, for an agency's case or finding, by `gateway.omc.actions`."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.limits import ALERT_KEY, CASE_ID, NOTE, RECORD_ID
from gateway.omc import actions
from gateway.omc.auth import officer, requires, services
from gateway.omc.blueprint import bp
from gateway.omc.roles import Perm
from gateway.web.params import form_text, path_text


def _back() -> str:
    target = urllib.parse.urlsplit(request.form.get("next", ""))
    if target.scheme or target.netloc or not target.path.startswith("/omc/"):
        return url_for("omc.home")
    return target.path + (f"?{target.query}" if target.query else "")


def _confirm_or_do(title: str, what: str, do: Callable[[], str]) -> WerkzeugResponse | str:
    if request.form.get("confirm") != "yes":
        fields = {k: v for k, v in request.form.items() if k not in ("csrf_token", "confirm")}
        return render_template(
            "omc/confirm.html", title=title, what=what, fields=fields, action=request.path
        )
    flash(do())
    return redirect(_back())


@bp.post("/actions/retry/<case_id>")
@requires(Perm.RETRY_CASE)
def retry_case(case_id: str) -> WerkzeugResponse | str:
    path_text(case_id, CASE_ID, "case")
    agency = actions.check_case(services(), officer(), case_id)

    def do() -> str:
        actions.retry_case(services(), officer(), case_id)
        return f"Case {case_id} is queued for {agency} again."

    return _confirm_or_do("Retry an escalated case", f"Send case {case_id} to {agency} again.", do)


@bp.post("/actions/acknowledge/<transit_id>/<key>")
@requires(Perm.ACK_ALERT)
def acknowledge_alert(transit_id: str, key: str) -> WerkzeugResponse | str:
    path_text(transit_id, RECORD_ID, "transit")
    path_text(key, ALERT_KEY, "alert")

    def do() -> str:
        actions.acknowledge_alert(services(), officer(), transit_id, key)
        return f"Alert {key} of transit {transit_id} acknowledged."

    return _confirm_or_do(
        "Acknowledge an alert", f"Acknowledge alert {key} of transit {transit_id}.", do
    )


@bp.post("/actions/inspection/<visit_id>/<finding_id>")
@requires(Perm.RECORD_INSPECTION)
def record_inspection(visit_id: str, finding_id: str) -> WerkzeugResponse | str:
    path_text(visit_id, RECORD_ID, "visit")
    path_text(finding_id, RECORD_ID, "finding")
    actions.check_finding(services(), officer(), visit_id, finding_id)
    cleared = request.form.get("result") == "cleared"
    note = form_text("note", NOTE)

    def do() -> str:
        actions.record_inspection(
            services(), officer(), visit_id, finding_id, cleared=cleared, note=note
        )
        return f"Inspection result recorded for finding {finding_id}."

    outcome = "cleared" if cleared else "refused"
    return _confirm_or_do(
        "Record an inspection result",
        f"Record finding {finding_id} of visit {visit_id} as {outcome}: {note}",
        do,
    )


@bp.post("/actions/clear/<visit_id>")
@requires(Perm.CLEAR_VEHICLE)
def clear_vehicle(visit_id: str) -> WerkzeugResponse | str:
    path_text(visit_id, RECORD_ID, "visit")
    reason = form_text("reason", NOTE)

    def do() -> str:
        actions.clear_vehicle(services(), officer(), visit_id, reason)
        return f"Vehicle of visit {visit_id} cleared by hand; the barrier opens."

    return _confirm_or_do(
        "Clear a vehicle by hand", f"Open the exit barrier for visit {visit_id}: {reason}", do
    )
