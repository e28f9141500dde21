"""The `nsw` command: trader tools, operator tools, the server, workers and the demo."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import click

from gateway.cli_identity import representatives, traders
from gateway.cli_notifications import notifications, notify_url
from gateway.cli_options import TRADER_CERT, TRADER_KEY, URL, configured_services, trader_client
from gateway.config import load_config
from gateway.omc.cli import omc
from gateway.resources import nsw_home


@click.group()
def main() -> None:
    """National Single Window gateway."""


# --- PKI ---------------------------------------------------------------------------------------


@main.group()
def pki() -> None:
    """Development PKI."""


@pki.command("init")
@click.argument("directory", type=click.Path(path_type=Path), required=False)
@click.option("--force", is_flag=True, help="Make a new PKI even if one exists.")
def pki_init(directory: Path | None, force: bool) -> None:
    """Make (or show) the dev PKI: CAs, CRL, gateway, agencies, traders. DIRECTORY defaults to
    NSW_PKI_DIR, else $NSW_HOME/pki; stale CRLs of an existing PKI are issued afresh."""
    from gateway.pki import describe, init_dev_pki

    config = load_config()
    made = init_dev_pki(directory or config.pki_dir, force=force, log_origin=config.log_origin)
    for line in describe(made):
        click.echo(line)


# --- trader tools ------------------------------------------------------------------------------


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--cert", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--chain", type=click.Path(exists=True, path_type=Path), multiple=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Default: standard output.")
def sign(file: Path, key: Path, cert: Path, chain: tuple[Path, ...], output: Path | None) -> None:
    """Sign an application with an enveloped XML signature (RSA-SHA256 or ECDSA-SHA256)."""
    from gateway.xmlparse import parse_xml
    from gateway.xmlsig import SigningIdentity, sign_enveloped

    signed = sign_enveloped(
        parse_xml(file.read_bytes()), SigningIdentity.from_files(key, cert, *chain)
    )
    if output:
        output.write_bytes(signed)
        click.echo(f"signed {file} -> {output}", err=True)
    else:
        sys.stdout.buffer.write(signed)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@URL
def submit(file: Path, url: str) -> None:
    """Lodge a signed application; prints the gateway's answer."""
    from gateway.client import ApiProblem, GatewayClient

    try:
        click.echo(json.dumps(GatewayClient(url).submit(file.read_bytes()), indent=2))
    except ApiProblem as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("application_id")
@URL
@click.option("--wait", type=float, default=0, help="Seconds to wait for the decision.")
@TRADER_KEY
@TRADER_CERT
def status(application_id: str, url: str, wait: float, key: Path, cert: Path) -> None:
    """Show an application's status and cases (and its decision when there is one).

    Reads are signed (RFC 9421) with your certificate's key: the declarant's, or a registered
    representative's."""
    from gateway.client import ApiProblem

    client = trader_client(url, key, cert)
    try:
        if wait:
            client.wait_for_decision(application_id, wait)
        click.echo(json.dumps(client.status(application_id), indent=2))
    except (ApiProblem, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("route")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def route_cmd(file: Path) -> None:
    """Explain which rule sends which goods item to which agency (signature not checked)."""
    from gateway.application import read_application
    from gateway.routing import explain, load_rules, route
    from gateway.xmlparse import parse_xml

    config = load_config()
    application = read_application(parse_xml(file.read_bytes()))
    rules = load_rules(config.mappings_dir / "routing.toml")
    for line in explain(application, route(application, rules)):
        click.echo(line)


# --- running -----------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
def serve(host: str, port: int) -> None:
    """Run the gateway (API and, unless NSW_DISPATCHER_THREADS=0, dispatcher threads)."""
    from werkzeug.serving import make_server

    from gateway.app import create_app

    app = create_app()
    server = make_server(host, port, app, threaded=True)
    _stop_on_signals(server.shutdown)
    click.echo(f"gateway listening on http://{host}:{server.server_port}", err=True)
    try:
        server.serve_forever()
    finally:
        app.extensions["nsw"].close()


@main.command()
@click.option("--threads", default=2, show_default=True)
def worker(threads: int) -> None:
    """Run dispatchers as a separate process (several can run against one PostgreSQL)."""
    from gateway.bootstrap import build_services

    services = build_services(load_config())
    stopped = threading.Event()
    _stop_on_signals(stopped.set)
    services.start_dispatchers(threads)
    click.echo(f"worker running {threads} dispatcher(s)", err=True)
    stopped.wait()
    services.close()


main.add_command(representatives)
main.add_command(traders)
main.add_command(omc)
main.add_command(notify_url)
main.add_command(notifications)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    from gateway.storage.db import make_engine
    from gateway.storage.migrate import upgrade

    upgrade(make_engine(load_config().database_url))
    click.echo("database is at the newest schema")


@main.group()
def cases() -> None:
    """Cases: list them, retry an escalated one (reads and writes the gateway's database)."""


@cases.command("list")
@click.option("--state", help="Only cases in this state, e.g. escalated.")
def cases_list(state: str | None) -> None:
    with configured_services() as services:
        for case in services.store.cases(state):
            click.echo(
                f"{case['id']:<36} {case['state']:<11} attempts={case['attempts']} "
                f"{case['last_error'] or ''}"
            )


@cases.command("retry")
@click.argument("case_ids", nargs=-1, required=True)
def cases_retry(case_ids: tuple[str, ...]) -> None:
    """Send escalated cases to their agencies again (a dispatcher picks them up)."""
    with configured_services() as services:
        for case_id in case_ids:
            try:
                services.store.retry_case(case_id)
            except (LookupError, ValueError) as exc:
                raise click.ClickException(str(exc)) from exc
            click.echo(f"{case_id}: queued again")


@main.group()
def checkpoint() -> None:
    """Electronic checkpoint: transit overdue sweep, time at the border."""


@checkpoint.command("sweep")
def checkpoint_sweep() -> None:
    """Raise the overdue alert for open transits past their due time (run periodically)."""
    with configured_services() as services:
        for alert in services.checkpoint.transits.sweep_overdue():
            click.echo(f"{alert['transit']} {alert['plate']}: {alert['kind']} — {alert['detail']}")


@checkpoint.command("timing")
@click.option("--checkpoint", "code", help="Only this checkpoint, e.g. KZ-NURZHOLY.")
def checkpoint_timing(code: str | None) -> None:
    """Time at the checkpoint by stage and waiting, and the share ready on arrival (JSON)."""
    from gateway.checkpoint.reports import timing_report

    with configured_services() as services:
        click.echo(json.dumps(timing_report(services.checkpoint.store, code).as_dict(), indent=2))


@main.group()
def audit() -> None:
    """Evidence bundles, tree heads and offline verification."""


@audit.command("export")
@click.argument("application_id")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Default: <id>.bundle.json")
def audit_export(application_id: str, output: Path | None) -> None:
    """Write the evidence bundle of one application (reads the gateway's database)."""
    with configured_services() as services:
        bundle = services.auditor.bundle(application_id)
    output = output or Path(f"{application_id}.bundle.json")
    output.write_text(json.dumps(bundle, indent=1))
    click.echo(
        f"{len(bundle['entries'])} entries, tree size {bundle['tree_head']['size']} -> {output}"
    )


@audit.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--ca", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--gateway-cert", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--quiet", is_flag=True, help="Print only failures and the verdict.")
def audit_verify(bundle: Path, ca: Path, gateway_cert: Path, quiet: bool) -> None:
    """Verify an evidence bundle offline: no database, no network."""
    from gateway.audit_verify import verify_bundle
    from gateway.trust import load_certificates

    checks = verify_bundle(
        json.loads(bundle.read_text()), load_certificates(ca), load_certificates(gateway_cert)[0]
    )
    _report(checks, quiet)


@audit.command("consistency")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--gateway-cert", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--proof", type=click.Path(exists=True, path_type=Path), help="Proof JSON file.")
@click.option("--url", envvar="NSW_URL", help="Fetch the proof from this gateway's audit API.")
@click.option("--token", envvar="NSW_AUDIT_TOKEN", help="Audit API bearer token.")
def audit_consistency(
    old: Path, new: Path, gateway_cert: Path, proof: Path | None, url: str | None, token: str | None
) -> None:
    """Check that the tree head NEW extends the earlier tree head OLD (files: tree head JSON or bundles)."""
    import requests

    from gateway.audit_verify import verify_tree_heads
    from gateway.trail_format import TreeHead
    from gateway.trust import load_certificates

    heads = []
    for path in (old, new):
        doc = json.loads(path.read_text())
        heads.append(TreeHead.from_json(doc.get("tree_head", doc)))
    if proof is not None:
        hashes = json.loads(proof.read_text())["proof"]
    elif url:
        response = requests.get(
            f"{url}/api/v1/audit/proofs/consistency",
            params={"first": heads[0].size, "second": heads[1].size},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        if response.status_code != 200:
            raise click.ClickException(f"the gateway gave no proof: {response.text[:300]}")
        hashes = response.json()["proof"]
    else:
        raise click.ClickException("give --proof FILE or --url of the gateway")
    checks = verify_tree_heads(
        heads[0], heads[1], [bytes.fromhex(h) for h in hashes], load_certificates(gateway_cert)[0]
    )
    _report(checks, quiet=False)


@audit.command("export-tiles")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def audit_export_tiles(directory: Path) -> None:
    """Write the latest checkpoint, its tiles and entry bundles (c2sp.org/tlog-tiles) to DIRECTORY."""
    from gateway.trail.export import export_tiles

    with configured_services() as services:
        services.auditor.issue_tree_head()
        size, files = export_tiles(services.auditor, directory)
    click.echo(f"tree size {size}: {files} files -> {directory}")


@audit.command("signer-reset")
@click.option(
    "--i-have-investigated",
    "investigated",
    is_flag=True,
    required=True,
    help="Confirm that you found why the signer refused (see its ERROR log and /readyz).",
)
@click.option("--reason", required=True, help="What you found and decided; kept in the trail.")
@click.option("--operator", required=True, help="Who decides (your name or account).")
@click.option(
    "--accept-current-log",
    is_flag=True,
    help="Also let the signer sign the stored log as it is now, though it does not extend the "
    "last checkpoint (a fork: witnesses will refuse it). Without it only the refusal is cleared.",
)
def audit_signer_reset(
    investigated: bool, reason: str, operator: str, accept_current_log: bool
) -> None:
    """Let the trail's checkpoint signer sign again after it refused; records the decision in the trail."""
    if not investigated:
        raise click.ClickException("pass --i-have-investigated")
    with configured_services() as services:
        click.echo(services.auditor.reset_signer(operator, reason, accept_current_log))


def _report(checks: list, quiet: bool) -> None:  # type: ignore[type-arg]
    failed = [c for c in checks if not c.ok]
    for check in checks:
        if not quiet or not check.ok:
            click.echo(check.line())
    if failed:
        click.secho(f"{len(failed)} of {len(checks)} checks FAILED", fg="red", bold=True)
        sys.exit(1)
    click.secho(f"all {len(checks)} checks passed", fg="green", bold=True)


@main.command()
@click.option("--workdir", type=click.Path(path_type=Path), help="Default: $NSW_HOME/demo.")
def demo(workdir: Path | None) -> None:
    """Run the whole path: PKI, agencies, gateway, signed samples, decisions, checks."""
    from gateway.demo import run_demo

    config = load_config()
    sys.exit(run_demo(workdir or nsw_home() / "demo", config.pki_dir))


def _stop_on_signals(stop: object) -> None:
    def handler(_signum: int, _frame: object) -> None:
        threading.Thread(target=stop, daemon=True).start()  # type: ignore[arg-type]

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


if __name__ == "__main__":
    main()
