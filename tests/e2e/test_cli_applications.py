"""`nsw applications list` against a running gateway: a table of the trader's own applications,
newest first, one page or (--all) every page by following the gateway's `next` links; --json for
programs; a BIN the trader may not act for ends in the gateway's sentence and exit code 1."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from gateway.cli.main import main
from gateway.pki.dev import DevPki
from tests.serving import serving

STEPPE, ALTYN = "210540012341", "190340025677"


@pytest.fixture
def served(app_factory: Callable[..., Flask]) -> Iterator[str]:
    """The in-process gateway (no agencies) on a free port of 127.0.0.1; its URL."""
    with serving(app_factory()) as url:
        yield url


@pytest.fixture
def five(served: str, signed_sample: Callable[..., bytes], tmp_path: Path) -> list[str]:
    """Five steppe applications lodged with `nsw submit`, in order; their ids."""
    ids = []
    for n in range(1, 6):
        path = tmp_path / f"signed-{n}.xml"
        path.write_bytes(
            signed_sample(
                "fresh-apples-import",
                edit=lambda raw, n=n: raw.replace(b"STEPPE-2026-0001", f"CLI-{n}".encode()),
            )
        )
        receipt = str(tmp_path / f"{n}.receipt.xml")
        lodged = nsw("submit", str(path), "--url", served, "--receipt", receipt)
        assert lodged.exit_code == 0, lodged.output
        ids.append(lodged.stdout.strip())
    return ids


def nsw(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def as_steppe(pki: DevPki, url: str) -> list[str]:
    key, cert = pki.key_path("trader-steppe"), pki.cert_path("trader-steppe")
    return ["--key", str(key), "--cert", str(cert), "--url", url]


def test_list_one_page_or_all(served: str, five: list[str], pki: DevPki) -> None:
    listing = ["applications", "list", "--declarant", STEPPE, "--limit", "2"]
    one = nsw(*listing, *as_steppe(pki, served))
    assert one.exit_code == 0, one.output
    lines = one.stdout.splitlines()
    assert lines[0].split() == ["ID", "REFERENCE", "STATE", "VERDICT", "RECEIVED", "DECIDED"]
    assert [line.split()[:4] for line in lines[1:]] == [
        [five[4], "CLI-5", "in_progress", "-"],
        [five[3], "CLI-4", "in_progress", "-"],
    ]
    assert "more applications follow: --all lists every page" in one.stderr

    every = nsw(*listing, "--all", *as_steppe(pki, served))
    assert every.exit_code == 0, every.output
    assert [line.split()[0] for line in every.stdout.splitlines()[1:]] == five[::-1]
    assert "more applications follow" not in every.stderr

    machine = nsw(*listing, "--all", "--json", *as_steppe(pki, served))
    document = json.loads(machine.stdout)
    assert [item["id"] for item in document["items"]] == five[::-1]
    assert document["links"] == {} and document["declarant"] == STEPPE


def test_filters_and_refusals_end_in_a_sentence(served: str, five: list[str], pki: DevPki) -> None:
    none = nsw(
        "applications", "list", "--declarant", STEPPE, "--state", "decided", *as_steppe(pki, served)
    )
    assert none.exit_code == 0 and none.stdout == ""
    assert f"no applications of {STEPPE} match" in none.stderr

    bad = nsw(
        "applications", "list", "--declarant", STEPPE, "--state", "closed", *as_steppe(pki, served)
    )
    assert bad.exit_code == 1 and "'state' must be one of decided, in_progress" in bad.output

    theirs = nsw("applications", "list", "--declarant", ALTYN, *as_steppe(pki, served))
    assert theirs.exit_code == 1 and "403" in theirs.output and "Traceback" not in theirs.output
