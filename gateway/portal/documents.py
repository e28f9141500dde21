"""Uploading a supporting document from the application's page (issue 19, item 3): the trader
chooses the file; the portal computes its SHA-256 and hands it to the same judging as the API
(`gateway.web.attachments_api.accept`): only the bytes of an entry the signed application lists
are kept. The signed-in certificate stands for the API's request signature, and the trail records
the upload (or the refusal) by digest with that certificate's subject."""

from __future__ import annotations

import hashlib

from flask import Response, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.errors import GatewayError, InvalidValue, NotFound
from gateway.i18n import Text
from gateway.i18n.web import gettext
from gateway.lifecycle.uploads import entry_for
from gateway.limits import SHA256
from gateway.portal.auth import services, trader
from gateway.portal.blueprint import bp
from gateway.portal.views import detail, readable
from gateway.web.attachments_api import accept, document_download, limit, too_large
from gateway.web.params import path_text
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


@bp.get("/applications/<application_id>/documents/<sha256>")
def download_document(application_id: str, sha256: str) -> Response:
    """An uploaded document of the trader's own application, as a download (the API's rules:
    gateway.web.attachments_api.document_download); another company's: 404, as the page."""
    readable(application_id)
    path_text(sha256, SHA256, "document")
    lodged = services().attachments.lodged(application_id)
    if lodged is None:  # readable() found it; applications are never deleted
        raise NotFound(Text("There is no application %(id)s.", id=application_id))
    return document_download(lodged, entry_for(lodged, sha256))
