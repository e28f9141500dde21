"""The operations API: agency health, escalated cases and failed trader notifications, for the
people who run the gateway.
Bearer tokens from NSW_OPERATOR_TOKENS (until the OMC's accounts and roles arrive)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, jsonify

from gateway.errors import GatewayError, NotFound
from gateway.i18n.text import Text
from gateway.limits import CASE_ID, STATE
from gateway.web.bearer import bearer_token_in
from gateway.web.params import path_text, query_text

if TYPE_CHECKING:
    from gateway.bootstrap import Services

bp = Blueprint("operations", __name__, url_prefix="/api/v1/operations")


class OperatorOnly(GatewayError):
    code, status, title = "operator-only", 401, "Operator credentials required"


class CaseNotRetryable(GatewayError):
    code, status, title = "case-not-retryable", 409, "The case cannot be retried"


class NotificationNotRetryable(GatewayError):
    code, status, title = "notification-not-retryable", 409, "The notification cannot be retried"


def _services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


@bp.before_request
def require_operator() -> None:
    if bearer_token_in(_services().config.operator_tokens):
        return
    raise OperatorOnly(
        Text("The operations API is for gateway operators: send 'Authorization: Bearer <token>'.")
    )


NO_CASES: dict[str, object] = {"cases": {}, "oldest_open_s": None}


@bp.get("/agencies")
def agencies() -> Response:
    """Each agency: its circuit breaker and case counts, both from the shared database."""
    svc = _services()
    stats = svc.store.agency_stats()
    breakers = svc.breakers.snapshot()
    closed = {"state": "closed", "consecutive_failures": 0, "opened_at": None, "last_error": None}
    return jsonify(
        {
            code: {
                "name": spec.name,
                "endpoint_configured": bool(spec.endpoint),
                "breaker": breakers.get(code, closed),
                **(stats[code].to_json() if code in stats else NO_CASES),
            }
            for code, spec in svc.specs.items()
        }
    )


@bp.get("/cases")
def cases() -> Response:
    return jsonify([c.to_json() for c in _services().store.cases(query_text("state", STATE))])


@bp.post("/cases/<case_id>/retry")
def retry(case_id: str) -> Response:
    try:
        application_id = _services().store.retry_case(path_text(case_id, CASE_ID, "case"))
    except LookupError as exc:
        raise NotFound(_sentence(exc)) from exc
    except ValueError as exc:
        raise CaseNotRetryable(_sentence(exc)) from exc
    return jsonify({"case": case_id, "application": application_id, "state": "queued"})


@bp.get("/notifications")
def notifications() -> Response:
    """Notifications to traders, newest first; `?state=failed` for the ones to look at."""
    listing = _services().notifications.listing(query_text("state", STATE))
    return jsonify([n.to_json() for n in listing])


@bp.post("/notifications/<int:notification_id>/retry")
def retry_notification(notification_id: int) -> Response:
    try:
        application_id = _services().notifications.retry(notification_id)
    except LookupError as exc:
        raise NotFound(_sentence(exc)) from exc
    except ValueError as exc:
        raise NotificationNotRetryable(_sentence(exc)) from exc
    return jsonify(
        {"notification": notification_id, "application": application_id, "state": "pending"}
    )


def _sentence(exc: Exception) -> str:
    """The store's sentence as it was raised (a `Text` stays one, to be said in the reader's
    language; `str(exc)` would make it plain English)."""
    said = exc.args[0] if exc.args else None
    return said if isinstance(said, str) else str(exc)
