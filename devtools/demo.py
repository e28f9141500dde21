"""`nsw demo`: the whole path on the embedded default, printed for a person to read.

Dev PKI → the stand-in agencies of mappings/agencies.toml and the gateway as real processes on free ports → the sample
applications signed by their declarants → one decision each → every decision's signature verified →
a forged application refused → the trail's checkpoint cosigned by two stand-in witnesses, and still
cosigned by one when the other is stopped → on the side, a third witness refusing a forked log and
the gateway's alarm (devtools/fork_demo.py). Exits 0 only when every check passes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import click
import requests
from cryptography.hazmat.primitives.serialization import Encoding

from devtools import fork_demo, payments_demo
from devtools.checkpoint_traffic import UNPAID, UNPAID_PLATE, exit_again
from devtools.processes import NotReady, ProcessGroup, free_port
from gateway.cli.client import ApiProblem, GatewayClient
from gateway.clock import system_clock
from gateway.fanout.agencies import standin_agencies
from gateway.pki.dev import LOG_VKEY_FILE, DevPki, init_dev_pki
from gateway.resources import shipped
from gateway.trail.checkpoint import cosignature_time, parse_checkpoint, verifier_from_vkey
from gateway.trail.note import NoteError, b64, verify_note
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped, verify_enveloped
from simulators.trader_inbox import RunningInbox, start_trader_inbox

# What answers once a stand-in is up: a SOAP service its WSDL, a REST one its OpenAPI contract.
READY_PATH = {"soap": "/?wsdl", "rest": "/openapi.json"}
APPLES = "fresh-apples-import"
VERDICT_COLOUR = {
    "released": "green", "granted": "cyan", "refused": "red", "inspection": "yellow",
    "held": "yellow",
}  # fmt: skip
# Two stand-in witnesses, a quorum of one: stopping either still lets checkpoints be published.
WITNESSES = ("witness-a", "witness-b")
WITNESS_QUORUM = 1
CHECKPOINT_WAIT_S = 60.0  # a new checkpoint comes NSW_TREE_HEAD_INTERVAL_S (2 s) after appends


def step(text: str) -> None:
    click.secho(f"\n== {text}", bold=True)


def ok(text: str) -> None:
    click.echo(f"   {click.style('ok', fg='green')}  {text}")


def bad(text: str) -> None:
    click.echo(f"   {click.style('FAIL', fg='red', bold=True)}  {text}")


APPLICATION_BIN = "{urn:kz:nsw:application:1}DeclarantBIN"


def _trader_slug(pki: DevPki, declarant: str) -> str:
    for party in pki.parties:
        if party.role == "trader" and party.bin == declarant and "expired" not in party.slug:
            return party.slug
    raise LookupError(f"no dev trader certificate for BIN {declarant}")


def _trader_for(pki: DevPki, declarant: str) -> SigningIdentity:
    slug = _trader_slug(pki, declarant)
    return SigningIdentity.from_files(
        pki.key_path(slug), pki.cert_path(slug), pki.directory / "issuing-ca.pem"
    )


def run_demo(workdir: Path, pki_dir: Path) -> int:
    """Run the demo with its database, signed files and logs in `workdir` (made afresh) and the
    dev PKI in `pki_dir` (made if missing, its CRLs renewed if stale)."""
    failures = 0
    samples = shipped("samples")
    step("Development PKI")
    pki = init_dev_pki(pki_dir)
    ok(f"root and issuing CA, CRL, gateway, agencies and traders in {pki.directory}")

    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    group = ProcessGroup(workdir / "logs", say=click.echo)
    stack = contextlib.ExitStack()
    try:
        step("Stand-in agencies (real servers on 127.0.0.1)")
        audit_token = secrets.token_urlsafe(24)
        env = {
            "NSW_PKI_DIR": str(pki_dir),
            "NSW_AUDIT_TOKENS": audit_token,
            "NSW_SECRET_KEY": secrets.token_urlsafe(32),  # the OMC's session key
            # The traders' systems below listen on http://127.0.0.1: allowed for the demo only.
            "NSW_NOTIFY_ALLOW_HTTP": "1",
            "NSW_NOTIFY_ALLOW_PRIVATE": "1",
        }
        for code, protocol in standin_agencies(shipped("mappings")).items():
            port = free_port()
            url = group.start(
                code,
                ["-m", "simulators", code, "--port", str(port)],
                port,
                {"NSW_PKI_DIR": str(pki_dir)},  # the agencies sign with their dev keys
                ready=READY_PATH[protocol],
            )
            env[f"NSW_AGENCY_{code.upper()}_URL"] = url
            ok(f"{code:<13} {url}")

        step("Stand-in witnesses of the trail (c2sp.org/tlog-witness)")
        witnesses = _start_witnesses(group, workdir, pki_dir)
        env["NSW_WITNESSES"] = ";".join(f"{w.name} {w.url} {w.vkey}" for w in witnesses)
        env["NSW_WITNESS_QUORUM"] = str(WITNESS_QUORUM)
        for w in witnesses:
            ok(f"{w.name:<12} {w.url}   vkey {w.vkey}")

        step("Stand-in treasury (payments, signed confirmations and statements)")
        port = free_port()  # the gateway's, which the treasury confirms payments to
        env.update(payments_demo.start_treasury(group, pki_dir, port))
        ok(f"treasury     {env['NSW_TREASURY_URL']}   collects into {env['NSW_PAYEE_ACCOUNT']}")

        step("Gateway (SQLite, dispatcher threads)")
        env["NSW_DATABASE_URL"] = f"sqlite:///{workdir / 'nsw.db'}"
        # Each demo run starts a new log, so the checkpoint signer's memory of it starts afresh.
        env["NSW_LOG_STATE"] = str(workdir / "log-state")
        gateway_url = group.start(
            "gateway",
            ["-m", "gateway.cli.main", "serve", "--port", str(port)],
            port,
            env,
            "/readyz",
        )
        ok(f"gateway      {gateway_url}   (log: {workdir / 'logs' / 'gateway.log'})")

        client = GatewayClient(gateway_url)
        trust = TrustStore.from_directory(pki_dir, system_clock)
        expected = tomllib.loads((samples / "expected.toml").read_text())
        submitted: dict[str, str] = {}
        readers: dict[str, GatewayClient] = {}  # reads are signed by the declarant (RFC 9421)

        step("Traders register where their decisions are to be sent (signed requests)")
        inbox = start_trader_inbox(pki_dir=pki_dir)
        stack.callback(inbox.stop)
        documents = {name: parse_xml((samples / f"{name}.xml").read_bytes()) for name in expected}
        for name, document in documents.items():
            declarant = document.findtext("{urn:kz:nsw:application:1}DeclarantBIN") or ""
            readers[name] = GatewayClient(gateway_url, identity=_trader_for(pki, declarant))
            _onboard(readers[name], env)
            readers[name].register_notification_url(declarant, inbox.url)
            ok(f"{declarant}: decisions to {inbox.url}")

        step("Traders sign and lodge their applications")
        for name, document in documents.items():
            trader = readers[name].identity
            assert trader is not None
            signed = sign_enveloped(document, trader)
            (workdir / f"{name}.signed.xml").write_bytes(signed)
            answer = client.submit(signed)
            submitted[name] = answer["id"]
            ok(f"{name}: accepted as {answer['id']} -> {', '.join(answer['agencies'])}")
            if sorted(answer["agencies"]) != sorted(expected[name]["agencies"]):
                failures += 1
                bad(f"expected agencies {expected[name]['agencies']}")

        # A second consignment of apples: granted like the first, but nobody pays for it yet.
        unpaid_xml = sign_enveloped(
            parse_xml(
                (samples / "fresh-apples-import.xml")
                .read_bytes()
                .replace(b"<TraderReference>", b"<TraderReference>UNPAID-", 1)
            ),
            readers[APPLES].identity,  # type: ignore[arg-type]
        )
        unpaid = client.submit(unpaid_xml)["id"]
        ok(f"{APPLES} (second consignment, to stay unpaid): accepted as {unpaid}")

        step("Defences: a document the gateway must refuse")
        failures += _show_refusals(client, pki_dir, workdir)

        step("Decisions (signed by the gateway)")
        started = time.monotonic()
        for name, application_id in submitted.items():
            xml = readers[name].wait_for_decision(application_id, deadline_s=60)
            verified = verify_enveloped(parse_xml(xml), trust, now=system_clock())
            verdict = verified.signed.findtext("{urn:kz:nsw:decision:1}Outcome")
            summary = verified.signed.findtext("{urn:kz:nsw:decision:1}Summary")
            colour = VERDICT_COLOUR.get(verdict or "", "white")
            click.echo(f"   {application_id}  {click.style(str(summary), fg=colour, bold=True)}")
            for case in readers[name].status(application_id)["cases"]:
                detail = (
                    case["permit_number"]
                    or case["inspection"]
                    or "; ".join(r["text"] for r in case["reasons"])
                )
                click.echo(f"      {case['agency']:<13} {case['state']:<11} {detail or ''}")
            click.echo(f"      signature: gateway certificate {verified.signer.subject}")
            if verdict == expected[name]["verdict"]:
                ok(f"{name}: {verdict} as expected")
            else:
                failures += 1
                bad(f"{name}: {verdict}, expected {expected[name]['verdict']}")
        ok(f"all decisions in {time.monotonic() - started:.1f} s")

        step("Traders' systems received each decision, signed (HTTP and XML signatures checked)")
        failures += _check_notifications(inbox, readers, submitted)

        step("Payments: one signed order per application, paid through the treasury")
        readers[APPLES].wait_for_decision(unpaid, deadline_s=60)
        payments_demo.show_order(readers[APPLES], submitted[APPLES], click.echo)
        failures += payments_demo.pay_and_release(
            readers[APPLES], submitted[APPLES], env, pki_dir, ok, bad
        )
        left = payments_demo.show_order(readers[APPLES], unpaid, click.echo)
        ok(f"{unpaid}: granted, {left['outstanding']['minor'] / 100:,.2f} KZT outstanding")

        step("A guarantee instead of payment: customs checks it, the application is released")
        failures += payments_demo.guarantee_story(
            client, readers[APPLES], (samples / f"{APPLES}.xml").read_bytes(), ok, bad
        )

        step("Permits: a veterinary permit written off across two applications until exhausted")
        failures += payments_demo.permit_story(
            client, readers[payments_demo.LAMB], submitted[payments_demo.LAMB],
            (samples / f"{payments_demo.LAMB}.xml").read_bytes(), env, pki_dir, ok, bad,
        )  # fmt: skip

        step("Life after lodging: one amendment, one withdrawal (signed by the declarants)")
        from devtools.lifecycle_demo import run_lifecycle_demo

        failures += run_lifecycle_demo(samples, readers, click.echo, ok, bad)

        step("A supporting document: lodged by digest, waited for, uploaded, checked")
        from devtools.documents_demo import LAMB, run_documents_demo

        lamb = _trader_slug(pki, documents[LAMB].findtext(APPLICATION_BIN) or "")
        failures += run_documents_demo(
            samples, readers[LAMB], (pki.key_path(lamb), pki.cert_path(lamb)), gateway_url,
            workdir, lambda id_: _verify_evidence(gateway_url, audit_token, id_, pki_dir, workdir),
            click.echo, ok, bad,
        )  # fmt: skip

        step("Audit: evidence bundles verified offline (CA and gateway certificate only)")
        for application_id in submitted.values():
            failures += _verify_evidence(gateway_url, audit_token, application_id, pki_dir, workdir)

        step("Audit: the trail's checkpoint, cosigned by witnesses")
        trail = TrailAuditor(gateway_url, audit_token, pki_dir, [w.vkey for w in witnesses])
        checked, size = trail.show_checkpoint(expected=WITNESSES)
        failures += checked
        stopped, remaining = witnesses[0], witnesses[1:]
        stopped.stop()
        ok(f"stopped {stopped.name}: {len(remaining)} witness left, quorum {WITNESS_QUORUM} holds")

        step("Electronic checkpoint Nur Zholy: advance notices, six signed stages, exit permit")
        from devtools.checkpoint_traffic import run_checkpoint_demo

        failures += run_checkpoint_demo(gateway_url, pki, {**submitted, UNPAID: unpaid}, ok, bad)

        step("The unpaid truck waits at the exit until `nsw pay`")
        failures += payments_demo.pay_and_release(readers[APPLES], unpaid, env, pki_dir, ok, bad)
        failures += exit_again(gateway_url, pki, UNPAID_PLATE, ok, bad)

        step(f"Audit: with {stopped.name} stopped, the next checkpoint is still cosigned")
        failures += trail.show_checkpoint(
            expected=tuple(w.name for w in remaining), larger_than=size, without=stopped.name
        )[0]

        step("Audit: the whole log checked from its tiles (what `nsw audit verify-log` does)")
        failures += trail.verify_whole_log(quorum=WITNESS_QUORUM)

        step("Audit, on the side: a witness fed a forked log refuses, and the gateway alarms")
        failures += fork_demo.run_fork_demo(group, workdir, pki_dir, env, ok, bad)
        failures += _unalarmed(gateway_url)
    except NotReady as exc:
        failures += 1
        bad(f"{exc} (logs: {workdir / 'logs'})")
    finally:
        stack.close()
        group.stop()
    step("Result")
    if failures:
        bad(f"{failures} check(s) failed")
        return 1
    ok("every decision is the expected one; everything the demo started is stopped")
    return 0


@dataclass
class DemoWitness:
    name: str
    url: str
    vkey: str  # its cosignature key (type 0x04), as it wrote it
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _start_witnesses(group: ProcessGroup, workdir: Path, pki_dir: Path) -> list[DemoWitness]:
    """Each witness follows the log of the dev PKI's log key, with its key and state in `workdir`:
    the demo's log starts afresh each run, and so must what the witnesses remember of it."""
    started = []
    state = workdir / "witnesses"
    for name in WITNESSES:
        port = free_port()
        vkey_file = state / f"{name}.vkey"
        args = ["-m", "simulators", "witness", "--name", name, "--port", str(port),
                "--log-vkey", str(pki_dir / LOG_VKEY_FILE), "--state-dir", str(state),
                "--vkey-file", str(vkey_file)]  # fmt: skip
        # A witness has no GET route: its 404 for / says it listens (and its vkey is written).
        url = group.start(name, args, port, {}, ready="/")
        started.append(DemoWitness(name, url, vkey_file.read_text().strip(), group.processes[-1]))
    return started


@dataclass
class TrailAuditor:
    """Reads the published checkpoint as an outside auditor would: with the audit token, and
    trusting only the log's vkey from the PKI directory and the witnesses' vkeys."""

    gateway_url: str
    token: str
    pki_dir: Path
    witness_vkeys: list[str]

    def show_checkpoint(
        self, expected: tuple[str, ...], larger_than: int = -1, without: str = ""
    ) -> tuple[int, int]:
        """Wait for a checkpoint larger than `larger_than` and not cosigned by `without` (one
        published after that witness stopped), verify it and print it; (failures, its size)."""
        log_verifier = verifier_from_vkey((self.pki_dir / LOG_VKEY_FILE).read_text())
        verifiers = [log_verifier, *map(verifier_from_vkey, self.witness_vkeys)]
        give_up = time.monotonic() + CHECKPOINT_WAIT_S
        while True:
            response = requests.get(
                f"{self.gateway_url}/api/v1/trail/checkpoint",
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            )
            try:
                response.raise_for_status()
                # Step 1: the log's signature and every witness's cosignature present verify.
                note, verified = verify_note(response.text, verifiers)
                checkpoint = parse_checkpoint(note.text)
            except (requests.HTTPError, NoteError) as exc:
                bad(f"the checkpoint does not verify: {exc}")
                return 1, -1
            signers = {s.name: s for s in verified.signatures}
            newer = checkpoint.size > larger_than and without not in signers
            if newer or time.monotonic() > give_up:
                break
            time.sleep(0.2)
        if not newer:
            bad(
                f"no checkpoint larger than {larger_than} without {without} in {CHECKPOINT_WAIT_S:g} s"
            )
            return 1, checkpoint.size
        click.echo(textwrap.indent(note.text, "      "))
        for signature in verified.signatures:
            if signature.name == log_verifier.name:
                click.echo(f"      \u2014 {signature.name}   the log's key")
            else:
                when = time.strftime("%H:%M:%S", time.gmtime(cosignature_time(signature)))
                click.echo(f"      \u2014 {signature.name}   cosigned at {when} UTC")
        failures = 0
        # Step 2: signed by the log's own key, under the origin it names.
        if checkpoint.origin != log_verifier.name or log_verifier.name not in signers:
            failures += 1
            bad(
                f"checkpoint {checkpoint.origin} is not signed by the log's key {log_verifier.name}"
            )
        # Step 3: cosigned by each witness expected to be up.
        missing = [name for name in expected if name not in signers]
        if missing:
            failures += 1
            bad(
                f"checkpoint of size {checkpoint.size} lacks the cosignature of {', '.join(missing)}"
            )
        if not failures:
            root = b64(checkpoint.root)
            ok(
                f"checkpoint {checkpoint.origin} size {checkpoint.size} root {root} verified "
                f"offline: the log's signature and {len(signers) - 1} cosignature(s) "
                f"({', '.join(n for n in signers if n != log_verifier.name)})"
            )
        return failures, checkpoint.size

    def verify_whole_log(self, quorum: int) -> int:
        """Every entry bundle and hash tile of the served checkpoint, checked offline: order,
        hashes, root, witness quorum and each application's closure."""
        from gateway.trail.checkpoint import CosignatureVerifier
        from gateway.trail.log_verify import FetchedTiles, verify_log

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"

        def get(path: str) -> bytes | None:
            answer = session.get(f"{self.gateway_url}/api/v1/trail/{path}", timeout=30)
            return None if answer.status_code == 404 else answer.content

        witnesses = [
            w
            for w in map(verifier_from_vkey, self.witness_vkeys)
            if isinstance(w, CosignatureVerifier)
        ]
        report = verify_log(
            FetchedTiles(get),
            verifier_from_vkey((self.pki_dir / LOG_VKEY_FILE).read_text()),
            witnesses=witnesses,
            quorum=quorum,
        )
        for check in report.checks:
            (ok if check.ok else bad)(f"{check.what}: {check.check} — {check.detail}")
        return 0 if report.ok else 1


def _unalarmed(gateway_url: str) -> int:
    """The demo's own gateway saw nothing of the side scenario's fork: no witness alarm."""
    ready = requests.get(f"{gateway_url}/readyz", timeout=30).json()
    alarm = str(ready.get("checks", {}).get("trail_witnesses", ""))
    if "refuses" in alarm:
        bad(f"the demo's own gateway is alarmed: {alarm}")
        return 1
    ok(f"the demo's own gateway: trail_witnesses {alarm} (the fork was another history)")
    return 0


def _onboard(reader: GatewayClient, env: dict[str, str]) -> None:
    """The operators register the trader's certificate (`nsw traders register`), so that the
    trader can sign requests before it lodged anything."""
    assert reader.identity is not None
    pem = reader.identity.certificate.public_bytes(Encoding.PEM)
    with tempfile.NamedTemporaryFile(suffix=".pem") as cert:
        cert.write(pem)
        cert.flush()
        subprocess.run(
            [sys.executable, "-m", "gateway.cli.main", "traders", "register", cert.name],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )


def _check_notifications(
    inbox: RunningInbox, readers: dict[str, GatewayClient], submitted: dict[str, str]
) -> int:
    failures = 0
    for name, application_id in submitted.items():
        give_up = time.monotonic() + 30
        while not (got := inbox.of(application_id)) and time.monotonic() < give_up:
            time.sleep(0.1)
        if got and got[-1].body == readers[name].decision(application_id):
            ok(f"{application_id}: {got[-1].outcome}, the same bytes as the decision served")
        else:
            failures += 1
            bad(f"{application_id}: the trader's system did not receive the decision")
    if inbox.state.refused:
        failures += 1
        bad(f"the trader's system refused: {inbox.state.refused}")
    return failures


def _show_refusals(client: GatewayClient, pki_dir: Path, workdir: Path) -> int:
    """Submit documents that must not be accepted and show the problem each one gets."""
    failures = 0
    source = parse_xml((shipped("samples") / "fresh-apples-import.xml").read_bytes())
    tampered = (
        (workdir / "fresh-apples-import.signed.xml")
        .read_bytes()
        .replace(b"<NetMassKg>19800</NetMassKg>", b"<NetMassKg>9800</NetMassKg>")
    )
    expired = sign_enveloped(
        source,
        SigningIdentity.from_files(pki_dir / "trader-expired.key", pki_dir / "trader-expired.pem"),
    )
    for label, body, code in (
        ("content changed after signing", tampered, "bad-signature"),
        ("signed with an expired certificate", expired, "expired-certificate"),
    ):
        try:
            client.submit(body)
        except ApiProblem as exc:
            got = str(exc.problem.get("type", "")).rsplit(":", 1)[-1]
            if got == code:
                ok(f"{label}: {exc.status} {got} — {exc.problem.get('detail')}")
                continue
        failures += 1
        bad(f"{label}: was not refused with {code}")
    return failures


def _verify_evidence(
    gateway_url: str, token: str, application_id: str, pki_dir: Path, workdir: Path
) -> int:
    """Fetch the application's evidence bundle and verify it as an auditor would, offline."""
    from gateway.trail.verify import verify_bundle
    from gateway.trust.certificates import load_certificates

    response = requests.get(
        f"{gateway_url}/api/v1/audit/applications/{application_id}/bundle",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    path = workdir / f"{application_id}.bundle.json"
    path.write_text(json.dumps(response.json(), indent=1))
    checks = verify_bundle(
        response.json(),
        load_certificates(pki_dir / "root-ca.pem"),
        load_certificates(pki_dir / "gateway.pem")[0],
    )
    failed = [c for c in checks if not c.ok]
    entries = len(response.json()["entries"])
    if failed:
        for check in failed:
            bad(check.line())
        return 1
    size = response.json()["tree_head"]["size"]
    unchecked = sum(1 for c in checks if not c.checked)
    ok(
        f"{application_id}: {entries} messages, {len(checks) - unchecked} checks passed, "
        f"{unchecked} not checkable offline yet (tree size {size}) -> {path.name}"
    )
    return 0
