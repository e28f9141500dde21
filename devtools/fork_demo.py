"""The demo's fork scenario (issue 18): a witness fed a forked log refuses, and the gateway alarms.

A fork is two histories of one log under the same key: an old backup restored and then written
to, say. The signer's memory went with the restore, so only a witness can tell. Staged here on the
side, never on the demo's own log: a third stand-in witness (`witness-fork`, its own process and
state) and two scratch gateways in this process, each with its own SQLite file and signer state
but the dev PKI's log key and origin. The honest one gets a checkpoint cosigned; the forked one
(other entries, a larger size, not an extension of the first) is refused by the witness, and that
gateway shows the alarm an operator sees: the ERROR log line, `nsw_trail_witness_refusing` in
`/metrics` and `/readyz` degraded. The demo's gateway and its two witnesses never see any of it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from devtools.processes import ProcessGroup, free_port
from gateway.app import create_app
from gateway.bootstrap import Services, build_services
from gateway.config import load_config
from gateway.pki.dev import LOG_VKEY_FILE
from gateway.trail.messages import Message

WITNESS = "witness-fork"
HONEST_SIZE, FORKED_SIZE = 3, 5
Say = Callable[[str], None]


def run_fork_demo(
    group: ProcessGroup, workdir: Path, pki_dir: Path, env: Mapping[str, str], ok: Say, bad: Say
) -> int:
    """Stage the fork in `workdir`/fork with a witness started in `group`; the failures found.
    `env` is the demo gateway's environment (agency endpoints, PKI), reused by the scratch ones."""
    scratch = workdir / "fork"
    scratch.mkdir(parents=True, exist_ok=True)
    witness = _start_witness(group, scratch, pki_dir)
    ok(f"{WITNESS} (a third stand-in witness, for this scenario only) at {witness.split()[1]}")

    # Step 1: the honest history; the witness cosigns its checkpoint and remembers it.
    honest = _scratch_gateway(scratch / "honest", env, witness)
    try:
        _append(honest, "honest", HONEST_SIZE)
        honest.auditor.issue_tree_head()
        cosigned = honest.auditor.witness_alarms().get(WITNESS) == ""
    finally:
        honest.close()
    if not cosigned:
        bad(f"{WITNESS} did not cosign the honest checkpoint of size {HONEST_SIZE}")
        return 1
    ok(f"honest log: checkpoint of size {HONEST_SIZE} cosigned by {WITNESS}")

    # Step 2: the forked history: same key and origin, other entries. The witness must refuse.
    token = secrets.token_urlsafe(16)
    forked = _scratch_gateway(scratch / "forked", env, witness, metrics_token=token)
    refusals = _Collect()
    logger = logging.getLogger("gateway.trail.witness")
    logger.addHandler(refusals)
    try:
        _append(forked, "forked", FORKED_SIZE)
        forked.auditor.issue_tree_head()
        return _show_alarm(forked, token, refusals.lines, ok, bad)
    finally:
        logger.removeHandler(refusals)
        forked.close()


def _show_alarm(services: Services, token: str, logged: list[str], ok: Say, bad: Say) -> int:
    failures = 0
    # Step 3: the witness refused, and the gateway said so: log line, metric, readiness.
    why = services.auditor.witness_alarms().get(WITNESS, "")
    if why:
        ok(f"forked log: checkpoint of size {FORKED_SIZE} refused by {WITNESS}: {why}")
    else:
        failures += 1
        bad(f"{WITNESS} did not refuse the forked checkpoint")
    if logged:
        ok(f"gateway log: ERROR {logged[0]}")
    else:
        failures += 1
        bad("the gateway logged no refusal")
    web = create_app(services.config, services).test_client()
    metrics = web.get("/metrics", headers={"Authorization": f"Bearer {token}"}).get_data(True)
    gauge = f'nsw_trail_witness_refusing{{witness="{WITNESS}"}} 1.0'
    if gauge in metrics:
        ok(f"/metrics: {gauge}")
    else:
        failures += 1
        bad(f"/metrics lacks {gauge}")
    ready = web.get("/readyz").get_json() or {}
    alarm = str(ready.get("checks", {}).get("trail_witnesses", ""))
    if ready.get("status") == "degraded" and WITNESS in alarm:
        ok(f"/readyz: degraded — trail_witnesses: {alarm}")
    else:
        failures += 1
        bad(f"/readyz is not degraded by the refusal: {ready}")
    return failures


def _start_witness(group: ProcessGroup, state: Path, pki_dir: Path) -> str:
    """Start the scenario's witness; its NSW_WITNESSES entry ("name url vkey")."""
    port, vkey_file = free_port(), state / f"{WITNESS}.vkey"
    args = ["-m", "simulators", "witness", "--name", WITNESS, "--port", str(port),
            "--log-vkey", str(pki_dir / LOG_VKEY_FILE), "--state-dir", str(state / "witness"),
            "--vkey-file", str(vkey_file)]  # fmt: skip
    url = group.start(WITNESS, args, port, {}, ready="/")  # its 404 for / says it listens
    return f"{WITNESS} {url} {vkey_file.read_text().strip()}"


def _scratch_gateway(
    home: Path, env: Mapping[str, str], witness: str, metrics_token: str = ""
) -> Services:
    """A gateway of its own (SQLite file, signer state) on the demo's log key, with no workers."""
    home.mkdir(parents=True, exist_ok=True)
    config = load_config(
        {**env, "NSW_DATABASE_URL": f"sqlite:///{home / 'nsw.db'}"},
        log_state=home / "log-state",
        witnesses=(witness,),
        witness_quorum=1,
        dispatcher_threads=0,
        metrics_tokens=(metrics_token,) if metrics_token else (),
    )
    return build_services(config)


def _append(services: Services, history: str, count: int) -> None:
    """`count` entries of this history: notification-URL registrations, each in the trail."""
    for n in range(count):
        bin_ = f"99999999{n:04d}"
        services.notifications.subscribe(
            bin_,
            f"https://{history}.example/{n}",
            fingerprint="00" * 32,
            message=Message(
                "notification-url", "in", f"trader:{bin_}", "text/plain", f"{history} {n}".encode()
            ),
        )


class _Collect(logging.Handler):
    """Keeps the refusals the witness client logs (level ERROR)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
