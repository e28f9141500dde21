"""The Flask app factory. Nothing happens at import; `create_app` builds everything."""

from __future__ import annotations

import atexit
import logging

from flask import Flask, Response, jsonify

from gateway.bootstrap import Services, build_services
from gateway.config import Config, load_config
from gateway.web import api, audit_api, problems


def create_app(config: Config | None = None, services: Services | None = None) -> Flask:
    config = config or load_config()
    services = services or build_services(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions["nsw"] = services
    problems.install(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(audit_api.bp)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    if config.dispatcher_threads > 0:
        services.start_dispatchers(config.dispatcher_threads)
        atexit.register(services.threads.stop)
    logging.getLogger("gateway").setLevel(logging.INFO)
    return app
