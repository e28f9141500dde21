"""Uploading a signed application: the trader signs with its own tool (the portal never holds a
trader's key) and uploads the file; it goes through the same `Intake.submit` as the API.

A refusal shows the very problem the API would send for the same bytes — its type, title, status
and sentence — and three checks come first, each the API's own problem too:

1. the form came whole: a body over the limit is refused whole (413 `body-too-large`), never cut;
2. a file was chosen, of an XML type (415 `unsupported-media-type` otherwise);
3. the file itself is at most NSW_MAX_BODY_BYTES, the API's body limit (413 `body-too-large`).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.errors import BodyTooLarge, GatewayError, InvalidValue, UnsupportedMediaType
from gateway.i18n import Text
from gateway.i18n.web import gettext
from gateway.portal.auth import services, trader
from gateway.portal.blueprint import bp
from gateway.web.body import default_limit
from gateway.web.problems import localized_problem

XML_TYPES = ("application/xml", "text/xml")
FIELD = "application"
# What a multipart form adds around the file (boundaries, part headers, the CSRF field): the
# request may be this much larger than the file limit, the file itself may not.


def too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        Text(
            "The body is larger than this endpoint's limit of %(limit)s bytes; send a smaller one.",
            limit=limit,
        ),
        limit=limit,
    )


def _wrong_application_type(mimetype: str) -> Text:
    # The API's sentences (gateway.web.api.submit).
    if mimetype:
        return Text("Send the signed application as application/xml, not %(type)s.", type=mimetype)
    return Text("Send the signed application as application/xml; this request names no type.")


def read_signed_xml(field: str, missing: Text, wrong_type: Callable[[str], Text]) -> bytes:
    """The signed XML file of the form's `field`, read whole (steps 2 and 3). `wrong_type`
    gives the API's sentence for a file of another media type."""
    limit = default_limit()
    # Step 2: a file, of an XML type.
    chosen = request.files.get(field)
    if chosen is None or not chosen.filename:
        raise InvalidValue(missing, field=field)
    if chosen.mimetype not in XML_TYPES:
        raise UnsupportedMediaType(wrong_type(chosen.mimetype))
    # Step 3: the file within the API's body limit, read whole or refused.
    try:
        body = chosen.stream.read(limit + 1)
    finally:
        chosen.close()  # a large file is spooled to a temporary file: closed now, not at collection
    if len(body) > limit:
        raise too_large(limit)
    return body


def _read_file() -> bytes:
    return read_signed_xml(
        FIELD,
        Text("Choose the signed application file (XML) to upload."),
        _wrong_application_type,
    )


@bp.route("/upload", methods=["GET", "POST"])
def upload() -> WerkzeugResponse | tuple[str, int] | str:
    who = trader()
    if request.method == "GET":
        return render_template("portal/upload.html", problem=None)
    try:
        accepted = services().intake.submit(_read_file(), request_id=g.get("request_id"))
    except GatewayError as exc:
        page = render_template("portal/upload.html", problem=localized_problem(exc, request.path))
        return page, exc.status
    app = services().store.application(accepted.application_id)
    declarant = app.declarant_bin if app else None
    if not who.may_act_for(declarant):
        # Lodging needs no proof but the XML signature (as in the API): someone else's signed
        # application is lodged, but it is not this trader's to follow.
        return render_template(
            "portal/upload.html", problem=None, lodged_for_other=accepted.application_id
        )
    if accepted.created:
        flash(gettext("Application %(id)s was accepted.", id=accepted.application_id), "ok")
    else:
        flash(
            gettext(
                "These signed bytes were lodged before as %(id)s; nothing new was lodged. To "
                "lodge again, change the trader reference and sign anew.",
                id=accepted.application_id,
            ),
            "warn",
        )
    return redirect(url_for("portal.application", application_id=accepted.application_id))
