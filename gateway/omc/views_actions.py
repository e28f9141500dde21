"""Officers' actions as forms. Each is posted twice: the first post shows what will happen and asks
for confirmation (works without script); the second, with `confirm=yes`, does it. The role is checked
by `requires` and, for an agency's case or finding, by `gateway.omc.actions`."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.i18n.web import gettext
from gateway.limits import ALERT_KEY, CASE_ID, NOTE, RECORD_ID
from gateway.omc import actions
from gateway.omc.auth import officer, requires, services
from gateway.omc.blueprint import bp
from gateway.omc.labels import label
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
        return gettext("Case %(case)s is queued for %(agency)s again.", case=case_id, agency=agency)

    return _confirm_or_do(
        gettext("Retry an escalated case"),
        gettext("Send case %(case)s to %(agency)s again.", case=case_id, agency=agency),
        do,
    )


@bp.post("/actions/acknowledge/<transit_id>/<key>")
@requires(Perm.ACK_ALERT)
def acknowledge_alert(transit_id: str, key: str) -> WerkzeugResponse | str:
    path_text(transit_id, RECORD_ID, "transit")
    path_text(key, ALERT_KEY, "alert")

    def do() -> str:
        actions.acknowledge_alert(services(), officer(), transit_id, key)
        return gettext(
            "Alert %(key)s of transit %(transit)s acknowledged.", key=key, transit=transit_id
        )

    return _confirm_or_do(
        gettext("Acknowledge an alert"),
        gettext("Acknowledge alert %(key)s of transit %(transit)s.", key=key, transit=transit_id),
        do,
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
        return gettext("Inspection result recorded for finding %(finding)s.", finding=finding_id)

    outcome = label("cleared" if cleared else "refused")
    return _confirm_or_do(
        gettext("Record an inspection result"),
        gettext(
            "Record finding %(finding)s of visit %(visit)s as %(outcome)s: %(note)s",
            finding=finding_id, visit=visit_id, outcome=outcome, note=note,
        ),
        do,
    )  # fmt: skip


@bp.post("/actions/clear/<visit_id>")
@requires(Perm.CLEAR_VEHICLE)
def clear_vehicle(visit_id: str) -> WerkzeugResponse | str:
    path_text(visit_id, RECORD_ID, "visit")
    reason = form_text("reason", NOTE)

    def do() -> str:
        actions.clear_vehicle(services(), officer(), visit_id, reason)
        return gettext(
            "Vehicle of visit %(visit)s cleared by hand; the barrier opens.", visit=visit_id
        )

    return _confirm_or_do(
        gettext("Clear a vehicle by hand"),
        gettext(
            "Open the exit barrier for visit %(visit)s: %(reason)s", visit=visit_id, reason=reason
        ),
        do,
    )
