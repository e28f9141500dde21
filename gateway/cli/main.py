"""The `nsw` command: trader tools, operator tools, the server, workers and the demo."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from lxml import etree

from gateway.cli.applications import applications
from gateway.cli.attach import attach
from gateway.cli.errors import FriendlyGroup
from gateway.cli.guarantee import guarantee
from gateway.cli.identity import representatives, traders
from gateway.cli.lifecycle import amend, withdraw
from gateway.cli.notifications import notifications, notify_url
from gateway.cli.options import (
    TRADER_CERT,
    TRADER_KEY,
    URL,
    configured_services,
    signing_identity,
    trader_client,
)
from gateway.cli.payments import pay, payments
from gateway.cli.permits import permits
from gateway.cli.serve import serve
from gateway.cli.signals import stop_on_signals
from gateway.config import load_config
from gateway.i18n.cli import say
from gateway.i18n.text import Text
from gateway.omc.cli import omc

if TYPE_CHECKING:
    from gateway.trail.verify import Check


@click.group(cls=FriendlyGroup)
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
    from gateway.pki.dev import describe, init_dev_pki

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
    from gateway.trust.xmlsig import sign_enveloped

    identity = signing_identity(key, cert, *chain)  # refuses a key that is not the cert's
    signed = sign_enveloped(_parse_file(file), identity)
    if output:
        output.write_bytes(signed)
        click.echo(say(Text("signed %(file)s -> %(output)s", file=file, output=output)), err=True)
    else:
        sys.stdout.buffer.write(signed)


def _parse_file(file: Path) -> etree._Element:
    """The file's XML, or the parser's sentence naming the file."""
    from gateway.errors import GatewayError
    from gateway.trust.xmlparse import parse_xml

    try:
        return parse_xml(file.read_bytes())
    except GatewayError as exc:
        raise click.ClickException(f"{file}: {exc.detail}") from exc


JSON_OUT = click.option("--json", "as_json", is_flag=True, help="Print the gateway's JSON answer.")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@URL
@JSON_OUT
@click.option(
    "--receipt",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to save the gateway's signed receipt [default: <id>.receipt.xml].",
)
def submit(file: Path, url: str, as_json: bool, receipt: Path | None) -> None:
    """Lodge a signed application and save the gateway's signed receipt.

    Prints a summary (id, state, agencies, where the receipt is) on standard error and the id
    alone on standard output, so that `ID=$(nsw submit signed.xml)` keeps it; --json prints the
    gateway's whole answer instead."""
    import base64

    from gateway.cli.client import GatewayClient
    from gateway.cli.trader import submit_lines

    answer = GatewayClient(url).submit(file.read_bytes())
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    receipt = receipt or Path(f"{answer['id']}.receipt.xml")
    receipt.write_bytes(base64.b64decode(answer["receipt"]))
    for line in submit_lines(answer, str(receipt)):
        click.echo(line, err=True)
    click.echo(answer["id"])


@main.command()
@click.argument("application_id")
@URL
@click.option(
    "--wait",
    type=float,
    default=0,
    help="Seconds to wait for the decision; stops early when a case is escalated or refused.",
)
@TRADER_KEY
@TRADER_CERT
@JSON_OUT
def status(
    application_id: str, url: str, wait: float, key: Path, cert: Path, as_json: bool
) -> None:
    """Show an application's status and cases.

    Reads are signed (RFC 9421) with your certificate's key: the declarant's, or a registered
    representative's. With --wait, exits 0 when decided, 1 when the wait ended without a
    decision (the reason is printed)."""
    from gateway.cli.trader import status_lines, wait_for_outcome

    client = trader_client(url, key, cert)
    if wait:
        current, reason = wait_for_outcome(client, application_id, wait)
    else:
        current, reason = client.status(application_id), None
    if as_json:
        click.echo(json.dumps(current, indent=2))
    else:
        for line in status_lines(current):
            click.echo(line)
    if wait and current.get("status") != "decided":
        raise click.ClickException(
            f"no decision yet: {reason}"
            if reason
            else f"no decision within {wait:g} s; the cases above are still open."
        )


@main.command()
@click.argument("application_id")
@URL
@TRADER_KEY
@TRADER_CERT
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
def decision(application_id: str, url: str, key: Path, cert: Path, output: Path | None) -> None:
    """Fetch the gateway-signed decision XML (a signed read, like `status`)."""
    xml = trader_client(url, key, cert).decision(application_id)
    if xml is None:
        raise click.ClickException(
            say(
                Text(
                    "%(application_id)s has no decision yet: `nsw status %(application_id)s` says "
                    "why.",
                    application_id=application_id,
                )
            )
        )
    if output:
        output.write_bytes(xml)
        click.echo(
            say(
                Text(
                    "decision of %(application_id)s saved to %(output)s",
                    application_id=application_id,
                    output=output,
                )
            ),
            err=True,
        )
    else:
        sys.stdout.buffer.write(xml)


@main.command("route")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def route_cmd(file: Path) -> None:
    """Explain which rule sends which goods item to which agency (signature not checked)."""
    from gateway.domain.application import NS, read_application
    from gateway.fanout.routing import explain, load_rules, route

    config = load_config()
    document = _parse_file(file)
    if document.tag != f"{{{NS}}}Application":
        raise click.ClickException(
            say(
                Text(
                    "%(file)s is not a single-window application (its root element must be "
                    '<Application xmlns="%(NS)s">); see samples/ for examples.',
                    file=file,
                    NS=NS,
                )
            )
        )
    _check_schema(file, document, config.wsdl_dir)
    application = read_application(document)
    rules = load_rules(config.mappings_dir / "routing.toml")
    for line in explain(application, route(application, rules)):
        click.echo(line)


def _check_schema(file: Path, document: etree._Element, wsdl_dir: Path) -> None:
    from gateway.errors import SchemaViolation
    from gateway.trust.schemas import load_schema, validate

    try:
        validate(load_schema(wsdl_dir / "application" / "application.xsd"), document)
    except SchemaViolation as exc:
        raise click.ClickException(
            say(
                Text(
                    "%(file)s does not match the application schema: %(detail)s",
                    file=file,
                    detail=exc.detail,
                )
            )
        ) from exc


# --- running -----------------------------------------------------------------------------------


@main.command()
@click.option("--threads", default=2, show_default=True)
def worker(threads: int) -> None:
    """Run dispatchers as a separate process (several can run against one PostgreSQL)."""
    from gateway.bootstrap import build_services
    from gateway.heap import settle_heap

    # Its pool is sized for these dispatcher threads and no web requests.
    services = build_services(load_config(dispatcher_threads=threads, web_threads=0))
    stopped = threading.Event()
    stop_on_signals(stopped.set)
    services.start_dispatchers(threads)
    settle_heap()
    click.echo(say(Text("worker running %(threads)s dispatcher(s)", threads=threads)), err=True)
    stopped.wait()
    services.close()


main.add_command(serve)
main.add_command(applications)
main.add_command(representatives)
main.add_command(traders)
main.add_command(omc)
main.add_command(notify_url)
main.add_command(attach)
main.add_command(notifications)
main.add_command(withdraw)
main.add_command(amend)
main.add_command(guarantee)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    from gateway.storage.db import make_engine
    from gateway.storage.migrate import upgrade

    upgrade(make_engine(load_config().database_url))
    click.echo(say(Text("database is at the newest schema")))


@main.group()
def cases() -> None:
    """Cases: list them, retry an escalated one (reads and writes the gateway's database)."""


@cases.command("list")
@click.option("--state", help="Only cases in this state, e.g. escalated.")
def cases_list(state: str | None) -> None:
    with configured_services() as services:
        for case in services.store.cases(state):
            click.echo(
                f"{case.id:<36} {case.state:<11} attempts={case.attempts} {case.last_error or ''}"
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
            click.echo(say(Text("%(case_id)s: queued again", case_id=case_id)))


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
        say(
            Text(
                "%(entries)s entries, tree size %(size)s -> %(output)s",
                entries=len(bundle["entries"]),
                size=bundle["tree_head"]["size"],
                output=output,
            )
        )
    )


@audit.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--ca", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--gateway-cert", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--quiet", is_flag=True, help="Print only failures and the verdict.")
def audit_verify(bundle: Path, ca: Path, gateway_cert: Path, quiet: bool) -> None:
    """Verify an evidence bundle offline: no database, no network."""
    from gateway.trail.bundle import UnreadableBundle
    from gateway.trail.verify import verify_bundle
    from gateway.trust.certificates import load_certificates

    document = _read_json(bundle)
    try:
        checks = verify_bundle(document, load_certificates(ca), load_certificates(gateway_cert)[0])
    except UnreadableBundle as exc:
        raise click.ClickException(
            say(
                Text(
                    "%(bundle)s is not an evidence bundle (%(exc)s): give the file saved by `nsw "
                    "audit export` or the audit API.",
                    bundle=bundle,
                    exc=exc,
                )
            )
        ) from exc
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

    from gateway.trail.bundle import UnreadableBundle, read_tree_head
    from gateway.trail.verify import verify_tree_heads
    from gateway.trust.certificates import load_certificates

    heads = []
    for path in (old, new):
        doc = _read_json(path)
        try:
            heads.append(
                read_tree_head(doc.get("tree_head", doc) if isinstance(doc, dict) else doc)[0]
            )
        except UnreadableBundle as exc:
            raise click.ClickException(
                say(Text("%(path)s holds no tree head (%(exc)s).", path=path, exc=exc))
            ) from exc
    if proof is not None:
        hashes = _proof_hashes(_read_json(proof), str(proof))
    elif url:
        response = requests.get(
            f"{url}/api/v1/audit/proofs/consistency",
            params={"first": heads[0].size, "second": heads[1].size},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        if response.status_code != 200:
            raise click.ClickException(
                say(Text("the gateway gave no proof: %(text)s", text=response.text[:300]))
            )
        try:
            answer = response.json()
        except ValueError as exc:
            raise click.ClickException(
                say(Text("the gateway's proof is not JSON: %(exc)s", exc=exc))
            ) from exc
        hashes = _proof_hashes(answer, url)
    else:
        raise click.ClickException(say(Text("give --proof FILE or --url of the gateway")))
    checks = verify_tree_heads(heads[0], heads[1], hashes, load_certificates(gateway_cert)[0])
    _report(checks, quiet=False)


def _proof_hashes(document: Any, where: str) -> list[bytes]:
    """The hashes of a consistency proof document {"proof": ["<hex>", ...]}."""
    hashes = document.get("proof") if isinstance(document, dict) else None
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        raise click.ClickException(
            say(
                Text(
                    '%(where)s holds no consistency proof: expected {"proof": ["<hex>", ...]}.',
                    where=where,
                )
            )
        )
    try:
        return [bytes.fromhex(h) for h in hashes]
    except ValueError as exc:
        raise click.ClickException(
            say(Text("%(where)s: a proof hash is not hexadecimal.", where=where))
        ) from exc


def _read_json(path: Path) -> Any:
    # ValueError: not JSON, not UTF-8, or a number of more than 4300 digits (Python's limit);
    # RecursionError: arrays or objects nested deeper than the parser's stack.
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        reason = exc.args[0] if isinstance(exc, ValueError) and exc.args else "nested too deeply"
        raise click.ClickException(
            say(
                Text(
                    "%(path)s is not JSON (%(reason)s): give the evidence bundle or tree head file "
                    "as saved by `nsw audit export` or the audit API.",
                    path=path,
                    reason=str(reason)[:120],
                )
            )
        ) from exc


@audit.command("export-tiles")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def audit_export_tiles(directory: Path) -> None:
    """Write the latest checkpoint, its tiles and entry bundles (c2sp.org/tlog-tiles) to DIRECTORY."""
    from gateway.trail.export import export_tiles

    with configured_services() as services:
        services.auditor.issue_tree_head()
        size, files = export_tiles(services.auditor, directory)
    click.echo(
        say(
            Text(
                "tree size %(size)s: %(files)s files -> %(directory)s",
                size=size,
                files=files,
                directory=directory,
            )
        )
    )


@audit.command("verify-log")
@click.argument("source")
@click.option(
    "--log-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The log's verifier key (log-ed25519.vkey, published by the operator).",
)
@click.option("--witness-key", "witness_keys", multiple=True, help="A witness's vkey (repeat).")
@click.option(
    "--quorum",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Witness cosignatures needed.",
)
@click.option("--previous", help="A copy of the log checked before (directory or URL prefix).")
@click.option("--token", envvar="NSW_AUDIT_TOKEN", help="Audit API bearer token (URL sources).")
@click.option("--quiet", is_flag=True, help="Print only failures and the verdict.")
def audit_verify_log(
    source: str,
    log_key: Path,
    witness_keys: tuple[str, ...],
    quorum: int,
    previous: str | None,
    token: str | None,
    quiet: bool,
) -> None:
    """Check the whole trail from its tiles: SOURCE is a directory written by `nsw audit
    export-tiles` or the gateway's tile URL prefix (…/api/v1/trail). Names the first missing,
    extra, changed or reordered entry by its index, and checks each application's closure."""
    from gateway.trail.checkpoint import CheckpointError, CosignatureVerifier, verifier_from_vkey
    from gateway.trail.log_verify import bad_index_sentence, verify_log

    try:
        key = verifier_from_vkey(log_key.read_text(encoding="ascii").strip())
        witnesses = [verifier_from_vkey(w.strip()) for w in witness_keys]
    except (CheckpointError, ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(
            say(Text("a verifier key is not a C2SP vkey: %(exc)s", exc=exc))
        ) from exc
    cosigners = [w for w in witnesses if isinstance(w, CosignatureVerifier)]
    if len(cosigners) != len(witnesses):
        raise click.ClickException(
            say(Text("a --witness-key is a note key, not a cosignature (0x04) key"))
        )
    if quorum > len(cosigners):
        raise click.ClickException(
            say(Text("--quorum %(quorum)s needs at least %(quorum)s --witness-key", quorum=quorum))
        )
    report = verify_log(
        _tiles(source, token),
        key,
        witnesses=cosigners,
        quorum=quorum,
        previous=_tiles(previous, token) if previous else None,
    )
    if report.first_bad_index is not None:
        click.secho(bad_index_sentence(report), fg="red", bold=True)
    _report(report.checks, quiet)


def _tiles(source: str, token: str | None) -> Any:
    from gateway.trail.log_verify import DirectoryTiles, FetchedTiles

    if not source.startswith(("http://", "https://")):
        if not Path(source).is_dir():
            raise click.ClickException(
                say(Text("%(source)s is neither a directory nor an http(s) URL", source=source))
            )
        return DirectoryTiles(Path(source))
    import requests

    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"

    def get(path: str) -> bytes | None:
        try:
            answer = session.get(f"{source.rstrip('/')}/{path}", timeout=30)
        except requests.RequestException as exc:
            raise click.ClickException(f"{source}: {exc}") from exc
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise click.ClickException(
                say(
                    Text(
                        "%(source)s/%(path)s answered %(status_code)s: %(text)s",
                        source=source,
                        path=path,
                        status_code=answer.status_code,
                        text=answer.text[:200],
                    )
                )
            )
        return answer.content

    return FetchedTiles(get)


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
        raise click.ClickException(say(Text("pass --i-have-investigated")))
    with configured_services() as services:
        click.echo(services.auditor.reset_signer(operator, reason, accept_current_log))


def _report(checks: Sequence[Check], quiet: bool) -> None:
    failed = [c for c in checks if not c.ok]
    for check in checks:
        if not quiet or not check.ok:
            click.echo(check.line())
    if failed:
        click.secho(
            say(
                Text(
                    "%(failed)s of %(checks)s checks FAILED", failed=len(failed), checks=len(checks)
                )
            ),
            fg="red",
            bold=True,
        )
        sys.exit(1)
    unchecked = sum(1 for c in checks if not c.checked)
    if unchecked:
        click.secho(
            say(
                Text(
                    "all %(passed)s checks passed; %(unchecked)s could not be checked (marked n/c)",
                    passed=len(checks) - unchecked,
                    unchecked=unchecked,
                )
            ),
            fg="yellow",
            bold=True,
        )
        return
    click.secho(
        say(Text("all %(checks)s checks passed", checks=len(checks))), fg="green", bold=True
    )


def _install_plugins() -> None:
    """Commands shipped outside the gateway (`devtools`: demo, stand-ins, screenshots) join through
    the `nsw.cli_plugins` entry point, so the gateway never imports them."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="nsw.cli_plugins"):
        entry.load()(main)


main.add_command(pay)
main.add_command(payments)
main.add_command(permits)
_install_plugins()


if __name__ == "__main__":
    main()
