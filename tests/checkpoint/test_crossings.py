"""The five road crossings of the Kazakh-Chinese border (issue 21): each takes a truck through the
six stages, an entry outside working hours is refused, and a malformed corridor stops the start."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from gateway.bootstrap import build_services
from gateway.checkpoint.registry import STAGES, WorkingHours, load_registry, parse_hours
from gateway.checkpoint.transit import load_corridors
from gateway.errors import ConfigurationError
from gateway.pki.dev import DevPki
from gateway.resources import shipped
from tests.checkpoint.conftest import Checkpoint, fresh_plate
from tests.gateway_fixtures import gateway_config
from tests.paths import REPO_ROOT

CHINA_CROSSINGS = ("KZ-NURZHOLY", "KZ-DOSTYK", "KZ-BAKHTY", "KZ-MAIKAPSHAGAI", "KZ-KOLZHAT")
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _at_local(cp: Checkpoint, hour: int, minute: int, tz: dt.tzinfo = BEIJING) -> None:
    """Move the test clock forward to the next `hour:minute` in `tz` (it never goes back)."""
    now = cp.clock().astimezone(tz)
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += dt.timedelta(days=1)
    cp.clock.advance(seconds=(target - now).total_seconds())


def _devices(cp: Checkpoint, code: str) -> dict[str, str]:
    return cp.services.checkpoint.registry.checkpoints[code].devices


def _released_and_notified(cp: Checkpoint, code: str, plate: str, at: tuple[int, int]) -> str:
    """Lodge and release an application at real time (the stand-in agencies judge freshness by
    their own clocks), then move the gateway's clock to `at` (Beijing time) and notify the truck."""
    application_id = cp.lodge("fresh-apples-import", fresh_plate(plate))
    assert cp.wait_decided(application_id)["verdict"] == "granted"  # customs charges are owed
    cp.pay(application_id)
    _at_local(cp, *at)
    assert cp.notice(plate, [application_id], checkpoint=code).status_code == 202
    return application_id


def _event(cp: Checkpoint, code: str, stage: str, plate: str) -> requests.Response:
    return cp.device(_devices(cp, code)[stage]).event(stage, plate, checkpoint=code)


def test_the_mapping_configures_the_five_china_crossings_with_six_devices_each(pki: DevPki) -> None:
    registry = load_registry(shipped("mappings") / "checkpoints.toml", pki.directory)
    for code in CHINA_CROSSINGS:
        checkpoint = registry.checkpoints[code]
        assert set(checkpoint.devices) == set(STAGES), code
        for stage, slug in checkpoint.devices.items():
            device = registry.device_by_slug(slug)  # the dev PKI issued its certificate
            assert device is not None and (device.checkpoint, device.stage) == (code, stage)


@pytest.mark.parametrize("code", CHINA_CROSSINGS)
def test_each_china_crossing_takes_a_released_truck_through_six_stages(
    checkpoint: Checkpoint, code: str
) -> None:
    # 11:00 Beijing time: inside the working hours of every crossing
    application_id = _released_and_notified(checkpoint, code, "123ABC02", (11, 0))
    for stage in STAGES[:-1]:
        checkpoint.clock.advance(minutes=2)
        answer = _event(checkpoint, code, stage, "123ABC02")
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "passed", answer.text
    exit_answer = _event(checkpoint, code, "exit", "123ABC02").json()
    assert exit_answer["status"] == "open-barrier"
    visit = checkpoint.services.checkpoint.store
    kinds = [m.kind for m in visit.messages(application_id)]
    assert kinds.count("device-event") == 6 and kinds.count("barrier-command") == 1


def test_an_entry_outside_working_hours_is_refused_and_registers_nothing(
    checkpoint: Checkpoint,
) -> None:
    # 14:30 Beijing time: Dostyk's midday break
    _released_and_notified(checkpoint, "KZ-DOSTYK", "123ABC02", (14, 30))
    refused = _event(checkpoint, "KZ-DOSTYK", "entry", "123ABC02")
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"] == "urn:kz:nsw:problem:checkpoint-closed"
    assert "KZ-DOSTYK is closed" in problem["detail"] and "123ABC02" in problem["detail"]
    opens = dt.datetime.fromisoformat(problem["opens_at"])
    assert opens.astimezone(BEIJING).time() == dt.time(15, 0)
    # Nothing was opened: the next stage finds no entry registration.
    radiation = _event(checkpoint, "KZ-DOSTYK", "radiation", "123ABC02")
    assert radiation.status_code == 409
    assert radiation.json()["type"] == "urn:kz:nsw:problem:stage-out-of-order"
    # At opening time the same truck is registered and uses its notice.
    checkpoint.clock.advance(seconds=(opens - checkpoint.clock()).total_seconds() + 60)
    entry = _event(checkpoint, "KZ-DOSTYK", "entry", "123ABC02")
    assert entry.status_code == 201, entry.text
    assert entry.json()["status"] == "passed"


def test_a_truck_inside_at_closing_time_finishes_its_stages(checkpoint: Checkpoint) -> None:
    # 18:55 Beijing time: five minutes before Bakhty closes for the night
    _released_and_notified(checkpoint, "KZ-BAKHTY", "123ABC02", (18, 55))
    assert _event(checkpoint, "KZ-BAKHTY", "entry", "123ABC02").status_code == 201
    for stage in STAGES[1:-1]:
        checkpoint.clock.advance(minutes=3)  # past 19:00 from the second stage on
        assert _event(checkpoint, "KZ-BAKHTY", stage, "123ABC02").json()["status"] == "passed"
    assert _event(checkpoint, "KZ-BAKHTY", "exit", "123ABC02").json()["status"] == "open-barrier"
    # ... while a truck arriving now is turned away.
    late = _event(checkpoint, "KZ-BAKHTY", "entry", "777NEW01")
    assert late.json()["type"] == "urn:kz:nsw:problem:checkpoint-closed"


def test_a_checkpoint_open_around_the_clock_registers_at_night(checkpoint: Checkpoint) -> None:
    # 03:00 Beijing time: Nur Zholy works 24/7
    _released_and_notified(checkpoint, "KZ-NURZHOLY", "123ABC02", (3, 0))
    assert _event(checkpoint, "KZ-NURZHOLY", "entry", "123ABC02").status_code == 201


def test_working_hours_windows_and_next_opening() -> None:
    hours = parse_hours("x", {"utc_offset": "+08:00", "windows": ["15:00-19:00", "10:30-14:00"]})
    at = dt.datetime(2026, 12, 7, 2, 29, tzinfo=dt.UTC)  # 10:29 in Beijing
    assert not hours.is_open(at)
    assert hours.is_open(at + dt.timedelta(minutes=1))
    assert hours.next_opening(at) == dt.datetime(2026, 12, 7, 2, 30, tzinfo=dt.UTC)
    evening = dt.datetime(2026, 12, 7, 11, 0, tzinfo=dt.UTC)  # 19:00 in Beijing: just closed
    assert not hours.is_open(evening)
    assert hours.next_opening(evening) == dt.datetime(2026, 12, 8, 2, 30, tzinfo=dt.UTC)
    assert parse_hours("x", "24/7") == WorkingHours() and parse_hours("x", None).is_open(at)


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        ("9-5", 'hours must be "24/7" or a table'),
        ({"utc_offset": "Asia/Almaty", "windows": ["09:00-18:00"]}, "utc_offset must look like"),
        ({"utc_offset": "+05:00", "windows": ["18:00-09:00"]}, "is not HH:MM-HH:MM with opening"),
        ({"utc_offset": "+05:00", "windows": []}, 'hours must be "24/7" or a table'),
    ],
)
def test_malformed_working_hours_are_refused_with_a_sentence(raw: object, sentence: str) -> None:
    with pytest.raises(ConfigurationError, match=sentence):
        parse_hours("checkpoints.toml: KZ-TEST", raw)


# --- corridors -------------------------------------------------------------------------------------

GOOD = (shipped("mappings") / "corridors" / "dostyk-uzbekistan.toml").read_text(encoding="utf-8")


def _corridor_dir(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "corridors"
    directory.mkdir(exist_ok=True)
    (directory / "bad.toml").write_text(text, encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("edit", "sentence"),
    [
        (lambda t: t.replace("width_km = 40.0\n", ""), r"bad.toml lacks width_km\."),
        (lambda t: t.replace("[46.17, 80.94]", "[80.94]"), r"Waypoint 2 of the corridor .* not a \[lat, lon\]"),
        (lambda t: t.replace("[46.17, 80.94]", "[146.17, 80.94]"), r"Waypoint 2 .*latitude -90\.\.90"),
        (lambda t: t.replace("width_km = 40.0", 'width_km = "wide"'), "a value of the wrong type"),
        (lambda t: t.replace('id = "dostyk-uzbekistan"', 'id = "dostyk'), "cannot be read"),
        (lambda t: t.replace('"KZ-DOSTYK"', '"KZ-NOWHERE"'), "names the checkpoint KZ-NOWHERE, which is not"),
        (lambda t: t.replace("[45.25, 82.48]", "[44.22, 80.38]"), r"first waypoint .* km from its checkpoint KZ-DOSTYK"),
    ],
)  # fmt: skip
def test_a_malformed_corridor_is_refused_with_a_sentence(
    tmp_path: Path,
    pki: DevPki,
    edit: Callable[[str], str],
    sentence: str,
) -> None:
    registry = load_registry(shipped("mappings") / "checkpoints.toml", pki.directory)
    directory = _corridor_dir(tmp_path, edit(GOOD))
    with pytest.raises(ConfigurationError, match=sentence):
        load_corridors(directory, registry.checkpoints)


def test_two_corridors_with_one_id_are_refused(tmp_path: Path) -> None:
    directory = _corridor_dir(tmp_path, GOOD)
    (directory / "copy.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(ConfigurationError, match="repeats the id 'dostyk-uzbekistan'"):
        load_corridors(directory)


def test_the_shipped_corridors_load_and_start_at_their_checkpoints(pki: DevPki) -> None:
    registry = load_registry(shipped("mappings") / "checkpoints.toml", pki.directory)
    corridors = load_corridors(shipped("mappings") / "corridors", registry.checkpoints)
    assert {"china-uzbekistan", "dostyk-uzbekistan"} <= set(corridors)
    dostyk = corridors["dostyk-uzbekistan"]
    assert dostyk.locate(45.25, 82.48)[0] and dostyk.locate(43.25, 76.95)[0]  # Dostyk, Almaty


def test_the_gateway_refuses_to_start_with_a_malformed_corridor(
    tmp_path: Path, pki: DevPki, database_url: str
) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(shipped("mappings"), mappings)
    broken = mappings / "corridors" / "dostyk-uzbekistan.toml"
    broken.write_text(GOOD.replace("[46.17, 80.94]", '["north", 80.94]'), encoding="utf-8")
    assert tomllib.loads(broken.read_text(encoding="utf-8"))  # valid TOML, wrong content
    config = gateway_config(pki, database_url, {}, mappings_dir=mappings)
    with pytest.raises(ConfigurationError, match=r"Waypoint 2 of the corridor .*dostyk-uzbekistan"):
        build_services(config, migrate=False).close()  # no connection is opened before it stops


# --- the simulator ---------------------------------------------------------------------------------


def _simulate(cp: Checkpoint, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "simulators.checkpoint", "--gateway", cp.url,
               "--pki", str(cp.pki.directory), "--stage-seconds", "0", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)


def test_the_simulator_drives_a_truck_at_another_crossing(checkpoint: Checkpoint) -> None:
    # The simulator runs on real time, so whether Dostyk is open depends on when the test runs:
    # open, the truck without a notice is registered and sent to the manual lane; closed, refused.
    hours = checkpoint.services.checkpoint.registry.checkpoints["KZ-DOSTYK"].hours
    before = hours.is_open(checkpoint.clock())
    run = _simulate(checkpoint, "--checkpoint", "KZ-DOSTYK", "--truck", "777NEW01:lane=L2")
    if hours.is_open(checkpoint.clock()) != before:
        pytest.skip("Dostyk opened or closed while the simulator ran")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])["results"]["777NEW01"]
    assert result == ("manual" if before else "refused"), run.stdout


def test_the_simulator_names_the_known_checkpoints_for_an_unknown_one(
    checkpoint: Checkpoint,
) -> None:
    run = _simulate(checkpoint, "--checkpoint", "KZ-NOWHERE", "--truck", "777NEW01")
    assert run.returncode != 0
    assert "There is no checkpoint KZ-NOWHERE" in run.stderr and "KZ-DOSTYK" in run.stderr
