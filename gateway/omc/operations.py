"""Operations: /readyz, Prometheus /metrics, and a request id on every request and log line.

/healthz and /readyz are open (load balancers and orchestrators probe them); /metrics is for the
Prometheus scraper only, with a bearer token from NSW_METRICS_TOKENS (none configured: closed), as
it tells anyone who asks how many applications there are and which agency is failing.

The request id (`X-Request-Id`, taken from the caller when well-formed, else made) is logged with
the application id when intake accepts it; the dispatcher logs the same application id when it
delivers and decides, so one `grep` follows a message from intake to decision.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from sqlalchemy import text

from gateway.bootstrap import Services
from gateway.errors import GatewayError
from gateway.fanout.agencies import missing_endpoints
from gateway.observability.request_context import request_id_var
from gateway.omc.metrics import GatewayCollector
from gateway.trail.metrics import TrailCollector
from gateway.web.bearer import bearer_token_in
from gateway.web.problems import problem_response

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
bp = Blueprint("operations_health", __name__)


class ScraperOnly(GatewayError):
    code, status, title = "metrics-scraper-only", 401, "Scraper credentials required"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, and for a record
    logged with an exception (`log.exception`) an `exc` field with its type, message and stack.

    The stack stays inside the one JSON line (newlines escaped), so a log shipper that reads a
    line per record keeps a 500's cause with its request id instead of dropping it."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": request_id_var.get(),
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            exc_type, exc, _tb = record.exc_info
            line["exc"] = {
                "type": f"{exc_type.__module__}.{exc_type.__qualname__}" if exc_type else "",
                "message": str(exc),
                "stack": self.formatException(record.exc_info),
            }
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line)


def _services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready when the database answers, the signing identity is loaded and every agency of the
    register has an endpoint."""
    checks: dict[str, str] = {}
    try:
        with _services().store.engine.connect() as c:
            c.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"failed: {type(exc).__name__}"
    checks["signing_identity"] = "ok" if _services().identity.key_pem else "missing"
    # An agency without an endpoint gets only escalations: the gateway cannot decide what it
    # routes there, so it is not ready, and says which settings are missing.
    missing = missing_endpoints(_services().specs)
    checks["agencies"] = "ok" if not missing else "no endpoint: " + ", ".join(missing)
    ready = all(v == "ok" for v in checks.values())
    # A refusing trail signer is an alarm, not a reason to stop taking applications: every node
    # would refuse alike, so taking them all out of the balancer would only stop the service.
    refusal = _services().auditor.signer_refusal()
    checks["trail_signer"] = f"refusing: {refusal}" if refusal else "ok"
    forks = {name: why for name, why in _services().auditor.witness_alarms().items() if why}
    checks["trail_witnesses"] = "; ".join(f"{n} refuses: {w}" for n, w in forks.items()) or "ok"
    degraded = bool(refusal or forks)
    status = "not-ready" if not ready else "degraded" if degraded else "ready"
    return jsonify({"status": status, "checks": checks}), (200 if ready else 503)


@bp.get("/metrics")
def metrics() -> Response:
    if not bearer_token_in(_services().config.metrics_tokens):
        refused = problem_response(
            ScraperOnly(
                "/metrics is for the Prometheus scraper: send 'Authorization: Bearer <token>' "
                "with a token from NSW_METRICS_TOKENS."
            )
        )
        refused.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'  # RFC 6750 §3
        return refused
    registry: CollectorRegistry = current_app.extensions["nsw-metrics"]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def install(app: Flask, services: Services) -> None:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(GatewayCollector(services))
    registry.register(
        TrailCollector(services.auditor.signer_refusal, services.auditor.witness_alarms)
    )
    latency = Histogram(
        "nsw_http_request_duration_seconds", "HTTP request duration", ["method", "endpoint"],
        registry=registry,
    )  # fmt: skip
    app.extensions["nsw-metrics"] = registry
    app.register_blueprint(bp)
    gateway_log = logging.getLogger("gateway")
    if not any(isinstance(h.formatter, JsonFormatter) for h in gateway_log.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        gateway_log.addHandler(handler)

    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if REQUEST_ID.match(given) else secrets.token_hex(8)
        request_id_var.set(g.request_id)  # each request runs in its own thread's context
        g.started = time.monotonic()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        if request.endpoint != "omc.events":
            latency.labels(request.method, request.endpoint or "none").observe(
                time.monotonic() - g.get("started", time.monotonic())
            )
        if request.endpoint == "api.submit" and response.status_code == 202:
            app_id = (response.get_json(silent=True) or {}).get("id")
            logging.getLogger("gateway.intake.service").info(
                "application %s accepted (request %s)", app_id, g.request_id
            )
        return response
