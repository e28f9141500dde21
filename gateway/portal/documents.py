"""Uploading a supporting document from the application's page (issue 19, item 3): the trader
chooses the file; the portal computes its SHA-256 and hands it to the same judging as the API
(`gateway.web.attachments_api.accept`): only the bytes of an entry the signed application lists
are kept. The signed-in certificate stands for the API's request signature, and the trail records
the upload (or the refusal) by digest with that certificate's subject."""

from __future__ import annotations

import hashlib

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.errors import GatewayError, InvalidValue
from gateway.i18n import Text
from gateway.i18n.web import gettext
from gateway.portal.auth import services, trader
from gateway.portal.blueprint import bp
from gateway.portal.views import detail, readable
from gateway.web.attachments_api import accept, limit, too_large
from gateway.web.problems import localized_problem

FIELD = "document"


def _read_file() -> bytes:
    chosen = request.files.get(FIELD)
    if chosen is None or not chosen.filename:
        raise InvalidValue(Text("Choose the document file to upload."), field=FIELD)
    cap = limit()
    try:
        data = chosen.stream.read(cap + 1)
    finally:
        chosen.close()
    if len(data) > cap:
        raise too_large(cap)
    return data


@bp.post("/applications/<application_id>/documents")
def upload_document(application_id: str) -> WerkzeugResponse | tuple[str, int]:
    who = trader()
    readable(application_id)  # 404 for another company's application, as every page
    lodged = services().attachments.lodged(application_id)
    assert lodged is not None  # readable: it exists
    try:
        data = _read_file()
        record: dict[str, str | None] = {
            "method": request.method,
            "target": request.url,
            "portal-certificate": who.fingerprint,
        }
        entry, _created = accept(
            lodged, hashlib.sha256(data).hexdigest(), data, f"trader:{who.bin}", who.subject,
            record,
        )  # fmt: skip
    except GatewayError as exc:
        page = render_template(
            "portal/application.html",
            problem=localized_problem(exc, request.path),
            **detail(application_id),
        )
        return page, exc.status
    flash(
        gettext("Document %(type)s %(number)s was uploaded.", type=entry.type, number=entry.number),
        "ok",
    )
    return redirect(url_for("portal.application", application_id=application_id))
