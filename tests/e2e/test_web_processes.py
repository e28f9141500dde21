"""Two `nsw serve` processes on one database work as one gateway: applications lodged at either are
each decided exactly once, readable from both, with one case per agency and one permit per granted
case, and the trail both processes append to is one log that verifies offline.

SQLite works too: every write transaction takes the database's write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree

from devtools.processes import free_port, wait_for_port
from gateway.cli.client import GatewayClient
from gateway.pki.dev import DevPki
from gateway.trail.format import TreeHead
from gateway.trail.verify import verify_bundle, verify_tree_heads
from gateway.trust.certificates import load_certificates
from simulators.server import RunningAgency
from tests.conftest import SAMPLE_SIGNER, SAMPLES, trader_identity
from tests.gateway_fixtures import AGENCY_CODES
from tests.log_state import log_state_for
from tests.paths import REPO_ROOT
from tests.polling import wait_until

EXPECTED = tomllib.loads((SAMPLES / "expected.toml").read_text())
REFERENCE = {
    "fresh-apples-import": b"STEPPE-2026-0001",
    "live-cattle-import": b"ALTYN-LIVESTOCK-77",
    "chilled-lamb-import": b"ALTYN-MEAT-2026-0412",
    "overweight-machinery-transit": b"KTC-TRANSIT-2026-118",
}
APPS = 6  # each sample twice, lodged alternately at the two processes
AUDITOR = "test-audit-token"
DEC = "{urn:kz:nsw:decision:1}"


@pytest.fixture
def web_processes(
    pki: DevPki, empty_database_url: str, own_agency: Callable[..., RunningAgency], tmp_path: Path
) -> Iterator[list[str]]:
    """Two `nsw serve` processes (two dispatcher threads each) on one database, started at once so
    both migrate the empty database together, with fresh agencies (permit serials from 1)."""
    env = {
        **os.environ,
        "NSW_DATABASE_URL": empty_database_url,
        "NSW_PKI_DIR": str(pki.directory),
        "NSW_LOG_STATE": str(log_state_for(empty_database_url)),  # this database's log, shared
        "NSW_AUDIT_TOKENS": AUDITOR,
        "NSW_RETRY_BASE_S": "0.1",
        "NSW_DISPATCHER_THREADS": "2",
        **{f"NSW_AGENCY_{code.upper()}_URL": own_agency(code).url for code in AGENCY_CODES},
    }
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"web-{n}.log" for n in range(len(ports))]
    processes = []
    for port, log in zip(ports, logs, strict=True):
        with log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gateway.cli.main", "serve", "--port", str(port)],
                    env=env,
                    cwd=REPO_ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        for port, process, log in zip(ports, processes, logs, strict=True):
            try:
                wait_for_port(port, process, deadline_s=60)
            except (RuntimeError, TimeoutError) as exc:
                raise AssertionError(f"{exc}; its log:\n{log.read_text()[-3000:]}") from exc
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def reader(pki: DevPki, url: str, sample: str) -> GatewayClient:
    """A client at `url` signing its reads with the key of the sample's declarant."""
    return GatewayClient(url, identity=trader_identity(pki, SAMPLE_SIGNER[sample]))


def audit_get(url: str, path: str, **params: Any) -> Any:
    response = requests.get(
        f"{url}/api/v1/audit/{path}",
        params=params,
        headers={"Authorization": f"Bearer {AUDITOR}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_two_web_processes_decide_each_application_once(
    web_processes: list[str], pki: DevPki, signed_sample: Callable[..., bytes], tmp_path: Path
) -> None:
    urls = web_processes
    lodged: list[tuple[str, str]] = []  # (application id, sample)
    early_head = None
    for n in range(APPS):
        sample = list(REFERENCE)[n % len(REFERENCE)]
        signed = signed_sample(
            sample, edit=lambda raw, s=sample, n=n: raw.replace(REFERENCE[s], f"WEB-{n}".encode())
        )
        lodged.append((GatewayClient(urls[n % 2]).submit(signed)["id"], sample))
        if early_head is None:  # a head from before the other applications arrived
            # Not an empty one: under gunicorn a worker that booted first may have signed the
            # empty log before the application was appended (there is no proof from size 0).
            early_head = wait_until(
                lambda: (h := TreeHead.from_json(audit_get(urls[0], "tree-head"))).size > 0 and h,
                what="a signed tree head with the first application",
            )
    assert early_head is not None

    # Every application is decided, and both processes tell the same: one case per agency the
    # sample needs, the same signed decision, one permit per granted case.
    cases: list[dict[str, Any]] = []
    for n, (application_id, sample) in enumerate(lodged):
        reader(pki, urls[(n + 1) % 2], sample).wait_for_decision(application_id, deadline_s=90)
        statuses = [reader(pki, url, sample).status(application_id) for url in urls]
        decisions = [reader(pki, url, sample).decision(application_id) for url in urls]
        assert statuses[0] == statuses[1]
        assert decisions[0] is not None and decisions[0] == decisions[1]
        status = statuses[0]
        assert status["status"] == "decided"
        assert status["verdict"] == EXPECTED[sample]["verdict"]
        assert sorted(c["agency"] for c in status["cases"]) == sorted(EXPECTED[sample]["agencies"])
        listed = etree.fromstring(decisions[0]).findall(f"{DEC}Cases/{DEC}Case")
        assert sorted(c.get("agency") for c in listed) == sorted(EXPECTED[sample]["agencies"])
        permit_of = {c["agency"]: c["permit_number"] for c in status["cases"]}
        for case in listed:
            permits = [p.get("number") for p in case.findall(f"{DEC}Permit")]
            permit = permit_of[case.get("agency")]
            assert permits == ([permit] if case.get("outcome") == "granted" else [])
        cases += status["cases"]
    assert (
        len({c["id"] for c in cases})
        == len(cases)
        == sum(len(EXPECTED[sample]["agencies"]) for _, sample in lodged)
    )

    # Each agency issued exactly one permit per granted case: per series, serials 1..k.
    serials: dict[str, list[int]] = defaultdict(list)
    for permit in (c["permit_number"] for c in cases if c["permit_number"]):
        series, serial = permit.rsplit("-", 2)[0], permit.rsplit("-", 1)[1]  # KZ-CUS, 000001
        serials[series].append(int(serial))
    assert serials and all(sorted(s) == list(range(1, len(s) + 1)) for s in serials.values())

    # The trail: each application's bundle (taken from either process) verifies offline and holds
    # one request and one answer per case and one decision; both processes appended to one log.
    anchors = load_certificates(pki.directory / "root-ca.pem")
    gateway_cert = pki.certificate("gateway")
    bundles = []
    for n, (application_id, sample) in enumerate(lodged):
        bundle = audit_get(urls[n % 2], f"applications/{application_id}/bundle")
        failures = [c.line() for c in verify_bundle(bundle, anchors, gateway_cert) if not c.ok]
        assert failures == []
        kinds = [e["kind"] for e in bundle["entries"]]
        agencies = len(EXPECTED[sample]["agencies"])
        assert kinds.count("application") == kinds.count("decision") == 1
        assert kinds.count("agency-request") == kinds.count("agency-answer") == agencies
        bundles.append(bundle)
    latest = max((TreeHead.from_json(b["tree_head"]) for b in bundles), key=lambda h: h.size)
    assert early_head.size < latest.size
    proof = audit_get(urls[1], "proofs/consistency", first=early_head.size, second=latest.size)
    checks = verify_tree_heads(
        early_head, latest, [bytes.fromhex(h) for h in proof["proof"]], gateway_cert
    )
    assert [c.line() for c in checks if not c.ok] == []

    # And the auditor's own tool says so, offline.
    bundle_file = tmp_path / "bundle.json"
    bundle_file.write_text(json.dumps(bundles[-1]))
    ca, cert = pki.directory / "root-ca.pem", pki.cert_path("gateway")
    command = ["audit", "verify", str(bundle_file), "--ca", str(ca), "--gateway-cert", str(cert)]
    verified = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "checks passed" in verified.stdout
