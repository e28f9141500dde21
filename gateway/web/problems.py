"""RFC 9457 problem documents for every error, so no client ever sees a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from gateway.errors import (
    PROBLEM_BASE,
    BodyTooLarge,
    DatabaseUnavailable,
    GatewayError,
    ServiceUnavailable,
)
from gateway.i18n import N_, Text, localize
from gateway.i18n.web import gettext

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
Translate = Callable[[BaseException], GatewayError | None]


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


def _untranslated(_error: BaseException) -> GatewayError | None:
    return None


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


def install(app: Flask, translate: Translate = _untranslated) -> None:
    """Answer every error with a problem document. `translate` turns an error of a lower layer
    (the storage's database errors, `gateway.storage.errors.translate`) into a `GatewayError`
    before it would be an internal error; the composition root passes it in."""

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

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        translated = translate(error)
        if isinstance(translated, DatabaseUnavailable):
            # A lost connection met outside a store's transaction is the same passing
            # condition: 503 with Retry-After, one log line, no stack.
            log.warning("database connection lost on %s %s: %s", request.method, request.path,
                        translated.reason)  # fmt: skip
        if translated is not None:
            return problem_response(translated)
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
