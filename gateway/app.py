"""The Flask app factory. Nothing happens at import; `create_app` builds everything."""

from __future__ import annotations

import atexit

from flask import Flask

from gateway.billing.wiring import init_payments
from gateway.bootstrap import Services, build_services
from gateway.checkpoint import documents_check
from gateway.checkpoint import web as checkpoint_web
from gateway.config import Config, load_config
from gateway.fanout.agencies import missing_endpoints
from gateway.i18n.web import init_i18n
from gateway.observability.health import OK, Probes
from gateway.observability.metrics import GatewayFigures, registry_for
from gateway.omc.health import agency_health, application_counts
from gateway.omc.wiring import init_omc
from gateway.portal.wiring import init_portal
from gateway.storage.errors import translate as translate_storage_error
from gateway.web import (
    api,
    attachments_api,
    audit_api,
    callbacks_rest,
    callbacks_soap,
    headers,
    observability,
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
    init_i18n(app, default_locale=config.default_locale)  # before any page or problem is made
    params.install_converters(app)  # before any route: every path parameter is bounded
    # Before every other hook and blueprint: the request id is set before any of them runs.
    observability.install(app, _observability(services))
    problems.install(app, translate_storage_error)
    headers.install(app, config)
    app.register_blueprint(api.bp)
    app.register_blueprint(attachments_api.bp)
    app.register_blueprint(audit_api.bp)
    app.register_blueprint(trail_api.bp)
    app.register_blueprint(operations_api.bp)
    app.register_blueprint(checkpoint_web.bp)
    app.register_blueprint(documents_check.bp)
    callbacks_soap.install(app)
    app.register_blueprint(callbacks_rest.bp)
    app.register_blueprint(openapi.bp)
    init_omc(app, config, services)
    init_payments(app, config, services)
    init_portal(app, config)  # after the OMC: its session key signs the portal cookie too

    if config.dispatcher_threads > 0:
        services.start_dispatchers(config.dispatcher_threads)
        atexit.register(services.threads.stop)
    return app


def _observability(services: Services) -> observability.Observability:
    """What /metrics and /readyz read of the services."""
    auditor = services.auditor
    figures = GatewayFigures(
        applications=lambda: application_counts(services),
        agencies=lambda: agency_health(services),
        fenced=services.store.fenced.counts,
        signer_refusal=auditor.signer_refusal,
        witness_alarms=auditor.witness_alarms,
    )

    def database() -> str:
        with services.store.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return OK

    def agencies() -> str:
        # An agency without an endpoint gets only escalations: the gateway cannot decide what it
        # routes there, so it is not ready, and says which settings are missing.
        missing = missing_endpoints(services.specs)
        return OK if not missing else "no endpoint: " + ", ".join(missing)

    def trail_witnesses() -> str:
        forks = {name: why for name, why in auditor.witness_alarms().items() if why}
        return "; ".join(f"{n} refuses: {w}" for n, w in forks.items()) or OK

    probes = Probes(
        required={
            "database": database,
            "signing_identity": lambda: OK if services.identity.key_pem else "missing",
            "agencies": agencies,
        },
        # A refusing trail signer or a witness that saw a fork is an alarm, not a reason to stop
        # taking applications: every node would refuse alike, so taking them all out of the
        # balancer would only stop the service.
        alarms={
            "trail_signer": lambda: f"refusing: {r}" if (r := auditor.signer_refusal()) else OK,
            "trail_witnesses": trail_witnesses,
        },
    )
    return observability.Observability(
        registry_for(figures), probes, services.config.metrics_tokens
    )
