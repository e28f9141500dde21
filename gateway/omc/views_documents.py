"""An application's supporting documents in the OMC (issue 19, item 3): who may download one.

The page lists every entry of the signed application (gateway.omc.views_applications); the bytes
go to an operator or an auditor, and to an officer of an agency whose mapping asks for the
document's type (`wants_documents`) and that has a case in the application — the agencies the
document is sent to anyway. Another agency's officer is refused (403), as on the other pages."""

from __future__ import annotations

from flask import Response

from gateway.errors import NotFound
from gateway.i18n import Text
from gateway.lifecycle.uploads import entry_for
from gateway.limits import SHA256
from gateway.omc.auth import officer, requires, services
from gateway.omc.blueprint import bp
from gateway.omc.errors import RoleForbidden
from gateway.omc.roles import Perm
from gateway.omc.views_applications import _visible_application, may_download
from gateway.web.attachments_api import document_download
from gateway.web.params import path_text


@bp.get("/applications/<application_id>/documents/<sha256>")
@requires(Perm.VIEW_OPS)
def document(application_id: str, sha256: str) -> Response:
    _visible_application(application_id)  # 404, or 403 for an agency with no case in it
    path_text(sha256, SHA256, "document")
    svc = services()
    lodged = svc.attachments.lodged(application_id)
    if lodged is None:  # not after _visible_application: applications are never deleted
        raise NotFound(Text("There is no application %(id)s.", id=application_id))
    entry = entry_for(lodged, sha256)  # 404 attachment-not-listed
    who = officer()
    spec = svc.specs.get(who.agency) if who.agency else None
    wanted_by = [spec.code] if spec and entry.type.value in spec.wants_documents else []
    if not may_download(who.agency, wanted_by):
        raise RoleForbidden(
            Text(
                "%(agency)s does not ask for %(type)s documents: only the agencies that want a "
                "document, operators and auditors may download it.",
                agency=who.agency,
                type=entry.type.value,
            )
        )
    return document_download(lodged, entry)
