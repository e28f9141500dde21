"""The demo's fork scenario (devtools/fork_demo.py): a witness fed a forked log refuses and the
gateway alarms, shown on a side witness and scratch logs, never on the demo's own."""

from __future__ import annotations

from pathlib import Path

from devtools.fork_demo import WITNESS, run_fork_demo
from devtools.processes import ProcessGroup
from gateway.pki.dev import DevPki
from tests.gateway_fixtures import endpoints_never_called


def test_the_fork_step_shows_the_refusal_and_every_alarm(pki: DevPki, tmp_path: Path) -> None:
    env = {"NSW_PKI_DIR": str(pki.directory)}
    env.update({f"NSW_AGENCY_{c.upper()}_URL": u for c, u in endpoints_never_called().items()})
    said: list[str] = []
    group = ProcessGroup(tmp_path / "logs", say=said.append)
    try:
        failures = run_fork_demo(
            group,
            tmp_path,
            pki.directory,
            env,
            lambda t: said.append("ok " + t),
            lambda t: said.append("FAIL " + t),
        )
    finally:
        group.stop()
    assert failures == 0, said
    assert not [line for line in said if line.startswith("FAIL")]
    shown = "\n".join(said)
    assert f"refused by {WITNESS}" in shown and "not consistent" in shown
    assert f'nsw_trail_witness_refusing{{witness="{WITNESS}"}} 1.0' in shown
    assert "/readyz: degraded" in shown and "gateway log: ERROR" in shown
