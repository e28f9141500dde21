"""The Flask app factory. Nothing happens at import; `create_app` builds everything."""

from __future__ import annotations

import atexit
import logging

from flask import Flask, Response, jsonify

from gateway.billing.wiring import init_payments
from gateway.bootstrap import Services, build_services
from gateway.checkpoint import web as checkpoint_web
from gateway.config import Config, load_config
from gateway.omc.wiring import init_omc
from gateway.web import (
    api,
    audit_api,
    callbacks_rest,
    callbacks_soap,
    headers,
    openapi,
    operations_api,
    params,
    problems,
    trail_api,
)


def create_app(config: Config | None = None, services: Services | None = None) -> Flask:
    config = config or load_config()
    services = services or build_services(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions["nsw"] = services
    params.install_converters(app)  # before any route: every path parameter is bounded
    problems.install(app)
    headers.install(app, config)
    app.register_blueprint(api.bp)
    app.register_blueprint(audit_api.bp)
    app.register_blueprint(trail_api.bp)
    app.register_blueprint(operations_api.bp)
    app.register_blueprint(checkpoint_web.bp)
    app.register_blueprint(callbacks_soap.bp)
    app.register_blueprint(callbacks_rest.bp)
    app.register_blueprint(openapi.bp)
    init_omc(app, config, services)
    init_payments(app, config, services)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    if config.dispatcher_threads > 0:
        services.start_dispatchers(config.dispatcher_threads)
        atexit.register(services.threads.stop)
    logging.getLogger("gateway").setLevel(logging.INFO)
    return app
