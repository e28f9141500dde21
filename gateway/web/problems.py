"""RFC 9457 problem documents for every error, so no client ever sees a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from gateway.errors import (
    PROBLEM_BASE,
    BodyTooLarge,
    DatabaseUnavailable,
    GatewayError,
    ServiceUnavailable,
)

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
Translate = Callable[[BaseException], GatewayError | None]


def _untranslated(_error: BaseException) -> GatewayError | None:
    return None


def problem_response(error: GatewayError) -> Response:
    response = jsonify(error.problem(instance=request.path))
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
            BodyTooLarge(f"The body is larger than the limit of {limit} bytes.", limit=limit)
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        response = jsonify(
            {
                "type": PROBLEM_BASE + f"http-{error.code}",
                "title": error.name,
                "status": error.code,
                "detail": error.description,
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
                "title": "Internal error",
                "status": 500,
                "detail": "The gateway failed to handle this request. Nothing you sent was lost "
                "if you got no 202; please retry, and report the time of the request if it recurs.",
                "instance": request.path,
            }
        )
        response.status_code = 500
        response.mimetype = PROBLEM_JSON
        return response
