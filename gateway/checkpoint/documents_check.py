"""The document stage compares a scanned document with the one lodged (issue 19, item 3).

`POST /api/v1/checkpoint/documents/digest`, signed (RFC 9421) by a device bound to the documents
stage, body `{"application_id": ..., "sha256": ...}`: the SHA-256 of the paper or file the driver
presented, as the stage's scanner computed it. The answer says whether it is a document the signed
application lists (its type, number, media type and size) and whether those bytes were uploaded;
a digest the application does not list is a finding (`"match": false`, with the entries it does
list), not an error. An unknown application is 404 `not-found`."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, jsonify

from gateway.checkpoint.device_auth import signed_device_json
from gateway.checkpoint.errors import DeviceNotForThis, InvalidEvent
from gateway.errors import NotFound
from gateway.i18n.text import Text
from gateway.lifecycle.uploads import signed_entries

if TYPE_CHECKING:
    from gateway.bootstrap import Services

bp = Blueprint("checkpoint_documents", __name__, url_prefix="/api/v1/checkpoint")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_APPLICATION_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")


def _services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


def _field(data: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidEvent(
            Text(
                "%(name)r must be a string matching %(pattern)s.",
                name=name,
                pattern=pattern.pattern,
            ),
            field=name,
        )
    return value


@bp.post("/documents/digest")
def digest() -> Response:
    body, device = signed_device_json(Text("Send the scanned digest as application/json."))
    svc = _services()
    if device.stage != "documents":
        raise DeviceNotForThis(
            Text(
                "Device %(slug)s reports %(stage)s; only a documents-stage device compares scanned "
                "documents.",
                slug=device.slug,
                stage=device.stage,
            )
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(Text("The body is not JSON: %(exc)s", exc=exc)) from exc
    if not isinstance(data, dict) or set(data) - {"application_id", "sha256"}:
        raise InvalidEvent(
            Text('Send {"application_id": "...", "sha256": "<64 hex>"} and nothing else.')
        )
    application_id = _field(data, "application_id", _APPLICATION_ID)
    sha256 = _field(data, "sha256", _SHA256)
    lodged = svc.attachments.lodged(application_id)
    if lodged is None:
        raise NotFound(
            Text("There is no application %(application_id)s.", application_id=application_id)
        )
    entries = signed_entries(lodged)
    found = next((e for e in entries if e.sha256 == sha256), None)
    answer: dict[str, Any] = {
        "application_id": application_id,
        "sha256": sha256,
        "match": found is not None,
        "lodged": [{"type": e.type.value, "number": e.number, "sha256": e.sha256} for e in entries],
    }
    if found is not None:
        answer["entry"] = {
            "type": found.type.value, "number": found.number, "media_type": found.media_type,
            "size": found.size,
        }  # fmt: skip
        answer["uploaded"] = sha256 in svc.attachments.uploaded(application_id)
    return jsonify(answer)
