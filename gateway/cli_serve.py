"""`nsw serve` (the gateway under gunicorn, or Werkzeug with --dev) and `nsw standins` (the
stand-in agencies for local use)."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.config import load_config
from gateway.processes import stop_on_signals


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
    from gateway.agencies import missing_endpoints, missing_endpoints_sentence
    from gateway.bootstrap import build_services

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
        click.secho(f"DEGRADED: {missing_endpoints_sentence(missing)}", fg="yellow", err=True)
    if dev:
        _serve_dev(host, port)
        return
    from gateway.web_server import GatewayServer, WebSettings

    settings = WebSettings.from_env()
    click.echo(
        f"gateway listening on http://{host}:{port} (gunicorn, {settings.workers} worker(s) x "
        f"{settings.threads} thread(s))",
        err=True,
    )
    GatewayServer(f"{host}:{port}", settings).run()


def _serve_dev(host: str, port: int) -> None:
    from werkzeug.serving import make_server

    from gateway.app import create_app

    app = create_app()
    server = make_server(host, port, app, threaded=True)
    stop_on_signals(server.shutdown)
    click.echo(f"gateway (dev server) listening on http://{host}:{server.server_port}", err=True)
    try:
        server.serve_forever()
    finally:
        app.extensions["nsw"].close()


@click.command()
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the export lines here (written once all are up, removed when stopped).",
)
@click.option(
    "--base-port",
    type=int,
    help="The first agency of mappings/agencies.toml on this port, the others and the trader inbox "
    "on the next ones [default: free ports].",
)
@click.option(
    "--pki-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Certificates the stand-ins sign with [default: NSW_PKI_DIR, else certs/dev].",
)
def standins(env_file: Path | None, base_port: int | None, pki_dir: Path | None) -> None:
    """Run the stand-in agencies (mappings/agencies.toml) and a trader inbox on 127.0.0.1 until Ctrl-C.

    Prints the `export NSW_AGENCY_<CODE>_URL=...` lines that point `nsw serve` at them."""
    from gateway.standins import run_standins

    pki_dir = pki_dir or load_config().pki_dir
    if not (pki_dir / "root-ca.pem").is_file():
        raise click.ClickException(f"There is no PKI in {pki_dir}: run `nsw pki init` first.")
    run_standins(
        pki_dir,
        base_port,
        env_file,
        echo=lambda line: click.echo(line),
        note=lambda line: click.echo(line, err=True),
    )
