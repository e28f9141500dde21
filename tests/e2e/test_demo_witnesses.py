"""Issue 18, the demo's witness section: two stand-in witnesses run as processes (`python -m
simulators witness`), the gateway is configured with both and a quorum of one; the checkpoint an
auditor fetches verifies offline with both cosignatures, and once one witness is stopped the next
checkpoint is still published, cosigned by the other. The same steps as `nsw demo`, without the
agencies, the decisions and the electronic checkpoint around them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devtools.demo import WITNESSES, DemoWitness, TrailAuditor, _start_witnesses
from devtools.processes import ProcessGroup, free_port
from gateway.cli.client import GatewayClient
from gateway.pki.dev import DevPki
from gateway.trail.checkpoint import Cosigner
from tests.gateway_fixtures import AGENCY_CODES

TOKEN = "demo-witness-audit-token"
Stack = tuple[str, list[DemoWitness]]


@pytest.fixture
def stack(pki: DevPki, tmp_path: Path) -> Iterator[Stack]:
    """The witnesses and a gateway configured with them, started as the demo starts them."""
    group = ProcessGroup(tmp_path / "logs", say=lambda _: None)
    try:
        witnesses = _start_witnesses(group, tmp_path, pki.directory)
        port = free_port()
        env = {
            "NSW_PKI_DIR": str(pki.directory),
            "NSW_DATABASE_URL": f"sqlite:///{tmp_path / 'nsw.db'}",
            "NSW_LOG_STATE": str(tmp_path / "log-state"),
            "NSW_AUDIT_TOKENS": TOKEN,
            # One dispatcher: with none the gateway starts no thread that signs new checkpoints.
            "NSW_DISPATCHER_THREADS": "1",
            "NSW_WEB_WORKERS": "1",
            "NSW_WITNESSES": ";".join(f"{w.name} {w.url} {w.vkey}" for w in witnesses),
            "NSW_WITNESS_QUORUM": "1",
            # Ready needs every agency's endpoint; nothing listens there, deliveries are retried.
            **{f"NSW_AGENCY_{code.upper()}_URL": "http://127.0.0.1:9" for code in AGENCY_CODES},
        }
        command = ["-m", "gateway.cli.main", "serve", "--port", str(port)]
        yield group.start("gateway", command, port, env, "/readyz"), witnesses
    finally:
        group.stop()


def test_the_checkpoint_is_cosigned_by_both_witnesses_and_by_one_when_the_other_stops(
    stack: Stack,
    pki: DevPki,
    signed_sample: Callable[..., bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, witnesses = stack
    client = GatewayClient(url)
    trail = TrailAuditor(url, TOKEN, pki.directory, [w.vkey for w in witnesses])
    client.submit(signed_sample("fresh-apples-import"))  # something in the trail to witness

    failures, size = trail.show_checkpoint(expected=WITNESSES, larger_than=0)
    shown = capsys.readouterr().out
    assert failures == 0, shown
    assert f"      kz.nsw.gateway/trail\n      {size}\n" in shown
    assert "— kz.nsw.gateway/trail   the log's key" in shown
    assert "— witness-a   cosigned at" in shown and "— witness-b   cosigned at" in shown
    assert f"size {size} root" in shown
    assert "the log's signature and 2 cosignature(s) (witness-a, witness-b)" in shown

    witnesses[0].stop()
    client.submit(signed_sample("live-cattle-import"))
    failures, later = trail.show_checkpoint(
        expected=("witness-b",), larger_than=size, without="witness-a"
    )
    shown = capsys.readouterr().out
    assert failures == 0, shown
    assert later > size
    assert "the log's signature and 1 cosignature(s) (witness-b)" in shown
    assert "witness-a" not in shown

    # The auditor's checks are not for show: a checkpoint without a cosignature it expects fails,
    assert trail.show_checkpoint(expected=WITNESSES, larger_than=later - 1)[0] == 1
    assert "lacks the cosignature of witness-a" in capsys.readouterr().out
    # and so does one cosigned by a key other than the one the auditor trusts for that witness
    # (another key ID: its line is ignored as an unknown key's, signed-note § Signatures).
    impostor = Cosigner("witness-b", Ed25519PrivateKey.generate()).verifier.vkey
    forged = TrailAuditor(url, TOKEN, pki.directory, [witnesses[0].vkey, impostor])
    assert forged.show_checkpoint(expected=("witness-b",))[0] == 1
    assert "lacks the cosignature of witness-b" in capsys.readouterr().out
