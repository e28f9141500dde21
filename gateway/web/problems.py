"""RFC 9457 problem documents for every error, so no client ever sees a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from gateway.errors import PROBLEM_BASE, BodyTooLarge, GatewayError, ServiceUnavailable
from gateway.storage.db import DatabaseUnavailable, disconnect_reason, is_disconnect

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem_response(error: GatewayError) -> Response:
    response = jsonify(error.problem(instance=request.path))
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

    @app.errorhandler(DBAPIError)
    def _database_error(error: DBAPIError) -> Response:
        # A lost connection met outside `Store.transaction` (e.g. the nonce ledger, the trader
        # keys) is the same passing condition: 503 with Retry-After, one log line, no stack.
        if is_disconnect(error):
            log.warning("database connection lost on %s %s: %s", request.method, request.path,
                        disconnect_reason(error))  # fmt: skip
            return problem_response(DatabaseUnavailable(
                "The gateway lost its database connection while handling this request. "
                "Send the same request again."
            ))  # fmt: skip
        return _unexpected(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
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
