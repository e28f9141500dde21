"""Amending or withdrawing an application from its page (issue 21, item 3): the trader signs the
new version or the withdrawal with its own tool (the portal never holds a trader's key) and
uploads the file; it goes through the same `Lifecycle.amend` / `Lifecycle.withdraw` as the API
(`POST /api/v1/applications/<id>/versions` and `.../withdrawal`), so the same checks run and a
refusal shows the API's own problem document, translated, on the application's page.

Before the lifecycle service sees the bytes, as for an application's upload
(`gateway.portal.upload`): another company's application answers 404 as every page does; the form
came whole (413); a file was chosen, of an XML type (415, the API's sentence); the file is within
the API's body limit (413).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.errors import GatewayError
from gateway.i18n import Text
from gateway.i18n.web import gettext
from gateway.portal.auth import services
from gateway.portal.blueprint import bp
from gateway.portal.upload import read_signed_xml
from gateway.portal.views import detail, readable
from gateway.web.problems import localized_problem

AMENDMENT, WITHDRAWAL = "amendment", "withdrawal"


def _refused(application_id: str, error: GatewayError) -> tuple[str, int]:
    """The application's page again, with the API's problem for what was sent."""
    page = render_template(
        "portal/application.html",
        problem=localized_problem(error, request.path),
        **detail(application_id),
    )
    return page, error.status


@bp.post("/applications/<application_id>/versions")
def amend(application_id: str) -> WerkzeugResponse | tuple[str, int]:
    readable(application_id)  # 404 for another company's application, as every page
    try:
        body = read_signed_xml(
            AMENDMENT,
            Text("Choose the signed amendment file (XML) to upload."),
            lambda _type: Text("Send the signed amendment as application/xml."),
        )
        done = services().lifecycle.amend(application_id, body)
    except GatewayError as exc:
        return _refused(application_id, exc)
    asked = [*done.reopened, *done.added]
    flash(
        gettext(
            "Version %(version)s was accepted; asked to look again: %(agencies)s.",
            version=done.version,
            agencies=", ".join(asked),
        )
        if asked
        else gettext(
            "Version %(version)s was accepted; no agency needs to look again.",
            version=done.version,
        ),
        "ok",
    )
    return redirect(url_for("portal.application", application_id=application_id))


@bp.post("/applications/<application_id>/withdrawal")
def withdraw(application_id: str) -> WerkzeugResponse | tuple[str, int]:
    readable(application_id)
    try:
        body = read_signed_xml(
            WITHDRAWAL,
            Text("Choose the signed withdrawal file (XML) to upload."),
            lambda _type: Text("Send the signed withdrawal as application/xml."),
        )
        done = services().lifecycle.withdraw(application_id, body)
    except GatewayError as exc:
        return _refused(application_id, exc)
    flash(
        gettext(
            "The application was withdrawn; asked to cancel their cases: %(agencies)s.",
            agencies=", ".join(done.cancelling),
        )
        if done.cancelling
        else gettext("The application was withdrawn."),
        "ok",
    )
    return redirect(url_for("portal.application", application_id=application_id))
