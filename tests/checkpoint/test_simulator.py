"""The checkpoint simulator as a real process against the gateway on a real socket."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.checkpoint.conftest import Checkpoint, fresh_plate
from tests.paths import REPO_ROOT


def test_the_simulator_drives_trucks_and_a_transit_with_a_deviation(checkpoint: Checkpoint) -> None:
    released = checkpoint.lodge("fresh-apples-import", fresh_plate("123ABC02"))
    checkpoint.pay(released)
    notice = checkpoint.notice(
        "123ABC02", [released], transit=("china-uzbekistan", "KZ-ZHIBEKZHOLY")
    )
    assert notice.status_code == 202
    command = [
        sys.executable, "-m", "simulators.checkpoint", "--gateway", checkpoint.url,
        "--pki", str(checkpoint.pki.directory), "--stage-seconds", "0",
        "--truck", "123ABC02:lane=L1", "--truck", "777NEW01:lane=L2,mass=39000",
        "--transit", "123ABC02", "--fixes", "7", "--fix-seconds", "0", "--deviation-km", "60",
        "--seal-open-at", "5",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert json.loads(lines[-1])["results"] == {"123ABC02": "open-barrier", "777NEW01": "manual"}
    assert any("123ABC02  parameters passed" in line for line in lines)
    transit_id = checkpoint.services.checkpoint.transits.open_transit_for("123ABC02")
    assert transit_id is not None
    transit = checkpoint.services.checkpoint.transits.transit(transit_id)
    assert transit is not None
    assert [a.kind for a in transit.transit.alerts] == ["off-corridor", "seal-opened"]
    assert len(transit.track) == 7
