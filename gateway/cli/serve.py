"""`nsw serve`: the gateway under gunicorn, or Werkzeug with --dev."""

from __future__ import annotations

import click

from gateway.cli.signals import stop_on_signals
from gateway.config import load_config
from gateway.i18n.cli import say
from gateway.i18n.text import Text


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option(
    "--allow-missing-agencies",
    is_flag=True,
    help="Start even when an agency has no endpoint (its cases are escalated; /readyz says 503).",
)
@click.option("--dev", is_flag=True, help="Werkzeug's one-process server instead of gunicorn.")
def serve(host: str, port: int, allow_missing_agencies: bool, dev: bool) -> None:
    """Run the gateway (API and, unless NSW_DISPATCHER_THREADS=0, dispatcher threads).

    Refuses to start while an agency of mappings/agencies.toml has no NSW_AGENCY_<CODE>_URL,
    unless --allow-missing-agencies. Runs gunicorn (NSW_WEB_WORKERS, NSW_WEB_THREADS,
    NSW_WEB_TIMEOUT_S); --dev runs Werkzeug's server in this process."""
    from gateway.bootstrap import build_services
    from gateway.fanout.agencies import missing_endpoints, missing_endpoints_sentence

    # Check the configuration and migrate once, here, before any worker starts.
    services = build_services(load_config())
    missing = missing_endpoints(services.specs)
    services.close()
    if missing and not allow_missing_agencies:
        raise click.ClickException(
            missing_endpoints_sentence(missing) + " Or start degraded with "
            "--allow-missing-agencies."
        )
    if missing:
        click.secho(
            f"DEGRADED: {missing_endpoints_sentence(missing)}",
            fg="yellow",
            err=True,
        )
    if dev:
        _serve_dev(host, port)
        return
    from gateway.web.server import GatewayServer, WebSettings

    settings = WebSettings.from_env()
    click.echo(
        say(
            Text(
                "gateway listening on http://%(host)s:%(port)s (gunicorn, %(workers)s worker(s) x "
                "%(threads)s thread(s))",
                host=host,
                port=port,
                workers=settings.workers,
                threads=settings.threads,
            )
        ),
        err=True,
    )
    GatewayServer(f"{host}:{port}", settings).run()


def _serve_dev(host: str, port: int) -> None:
    from werkzeug.serving import make_server

    from gateway.app import create_app
    from gateway.heap import settle_heap

    app = create_app()
    settle_heap()
    server = make_server(host, port, app, threaded=True)
    stop_on_signals(server.shutdown)
    click.echo(
        say(
            Text(
                "gateway (dev server) listening on http://%(host)s:%(server_port)s",
                host=host,
                server_port=server.server_port,
            )
        ),
        err=True,
    )
    try:
        server.serve_forever()
    finally:
        app.extensions["nsw"].close()
