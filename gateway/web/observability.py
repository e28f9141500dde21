"""Observability on the HTTP side, installed by the app factory for every blueprint: a request id on
every request, answer and log line; the request latency histogram; JSON log lines; and the
endpoints `/healthz`, `/readyz` and `/metrics`.

/healthz and /readyz are open (load balancers and orchestrators probe them); /metrics is for the
Prometheus scraper only, with a bearer token from NSW_METRICS_TOKENS (none configured: closed), as
it tells anyone who asks how many applications there are and which agency is failing.

The request id (`X-Request-Id`, taken from the caller when well-formed, else made) is kept in
`flask.g.request_id` and in `request_context.request_id_var` for the log lines of the request;
intake keeps it with the application and the dispatcher logs under it, so one `grep` follows a
message from intake to decision.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest

from gateway.errors import GatewayError
from gateway.i18n.text import Text
from gateway.observability.health import Probes
from gateway.observability.logs import install_json_logs
from gateway.observability.request_context import request_id_var
from gateway.web.bearer import bearer_token_in
from gateway.web.problems import problem_response

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
EXTENSION = "nsw-observability"
bp = Blueprint("operations_health", __name__)


class ScraperOnly(GatewayError):
    code, status, title = "metrics-scraper-only", 401, "Scraper credentials required"


@dataclass(frozen=True)
class Observability:
    """What the endpoints read: the metrics registry, the readiness probes and the scraper's
    tokens."""

    registry: CollectorRegistry
    probes: Probes
    metrics_tokens: Collection[str]


def _observability() -> Observability:
    found: Observability = current_app.extensions[EXTENSION]
    return found


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    readiness = _observability().probes.readiness()
    body = {"status": readiness.status, "checks": readiness.checks}
    return jsonify(body), (200 if readiness.ready else 503)


@bp.get("/metrics")
def metrics() -> Response:
    if not bearer_token_in(_observability().metrics_tokens):
        refused = problem_response(
            ScraperOnly(
                Text(
                    "/metrics is for the Prometheus scraper: send 'Authorization: Bearer <token>' "
                    "with a token from NSW_METRICS_TOKENS."
                )
            )
        )
        refused.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'  # RFC 6750 §3
        return refused
    return Response(generate_latest(_observability().registry), mimetype=CONTENT_TYPE_LATEST)


def install(app: Flask, observability: Observability) -> None:
    """Install on `app` before any other blueprint or hook, so the request id is set before any
    other code of a request runs (and logs)."""
    app.extensions[EXTENSION] = observability
    app.extensions["nsw-metrics"] = observability.registry  # the registry, for tests and tools
    latency = Histogram(
        "nsw_http_request_duration_seconds", "HTTP request duration", ["method", "endpoint"],
        registry=observability.registry,
    )  # fmt: skip
    app.register_blueprint(bp)
    install_json_logs()

    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if REQUEST_ID.match(given) else secrets.token_hex(8)
        request_id_var.set(g.request_id)  # each request runs in its own thread's context
        g.started = time.monotonic()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        # A streamed answer (the OMC's live events) is still running when its headers go: its
        # duration is not known here, and would only drag the histogram towards zero.
        if not response.is_streamed:
            latency.labels(request.method, request.endpoint or "none").observe(
                time.monotonic() - g.get("started", time.monotonic())
            )
        return response
