"""RFC 9457 problem documents for every error, so no client ever sees a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from gateway.errors import PROBLEM_BASE, BodyTooLarge, GatewayError, ServiceUnavailable
from gateway.i18n import N_, Text, localize
from gateway.i18n.web import gettext
from gateway.storage.db import DatabaseUnavailable, disconnect_reason, is_disconnect

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
# Werkzeug's names of the HTTP errors the gateway lets through (routing, methods), translated.
HTTP_TITLES = frozenset({
    N_("Bad Request"), N_("Unauthorized"), N_("Forbidden"), N_("Not Found"),
    N_("Method Not Allowed"), N_("Not Acceptable"), N_("Conflict"), N_("Request Entity Too Large"),
    N_("Unsupported Media Type"), N_("Too Many Requests"), N_("Internal Server Error"),
})  # fmt: skip
# Werkzeug's long English descriptions, in our own words, for the errors a reader meets most.
_HTTP_DETAILS = {
    404: Text("Nothing is at this address. Check the path against the API description."),
    405: Text(
        "This address does not take this method. Check the method against the API description."
    ),
}


def localized_problem(error: GatewayError, instance: str | None = None) -> dict[str, Any]:
    """`error.problem(instance)` in the reader's language (Accept-Language, cookie; gateway.i18n):
    title and detail are said again in it, the `type` and every extension member stay as they are.
    The API answers it as JSON, the portal shows it on its pages."""
    doc = error.problem(instance=instance)
    doc["title"] = gettext(error.title)
    doc["detail"] = localize(error.detail, gettext)
    return doc


def problem_response(error: GatewayError) -> Response:
    response = jsonify(localized_problem(error, request.path))  # Content-Language: gateway.i18n
    response.status_code = error.status
    response.mimetype = PROBLEM_JSON
    if isinstance(error, ServiceUnavailable):
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


def install(app: Flask) -> None:
    @app.errorhandler(GatewayError)
    def _gateway_error(error: GatewayError) -> Response:
        return problem_response(error)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error: RequestEntityTooLarge) -> Response:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return problem_response(
            BodyTooLarge(
                Text("The body is larger than the limit of %(limit)s bytes.", limit=limit),
                limit=limit,
            )
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = error.code or 500
        response = jsonify(
            {
                "type": PROBLEM_BASE + f"http-{error.code}",
                "title": gettext(error.name) if error.name in HTTP_TITLES else error.name,
                "status": error.code,
                "detail": localize(_HTTP_DETAILS.get(code, error.description or ""), gettext),
                "instance": request.path,
            }
        )
        response.status_code = error.code or 500
        response.mimetype = PROBLEM_JSON
        return response

    @app.errorhandler(DBAPIError)
    def _database_error(error: DBAPIError) -> Response:
        # A lost connection met outside `Store.transaction` (e.g. the nonce ledger, the trader
        # keys) is the same passing condition: 503 with Retry-After, one log line, no stack.
        if is_disconnect(error):
            log.warning("database connection lost on %s %s: %s", request.method, request.path,
                        disconnect_reason(error))  # fmt: skip
            return problem_response(DatabaseUnavailable(Text(
                "The gateway lost its database connection while handling this request. "
                "Send the same request again."
            )))  # fmt: skip
        return _unexpected(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        response = jsonify(
            {
                "type": PROBLEM_BASE + "internal",
                "title": gettext("Internal error"),
                "status": 500,
                "detail": gettext(
                    "The gateway failed to handle this request. Nothing you sent was lost if you "
                    "got no 202; please retry, and report the time of the request if it recurs."
                ),
                "instance": request.path,
            }
        )
        response.status_code = 500
        response.mimetype = PROBLEM_JSON
        return response
