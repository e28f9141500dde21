"""A trader's own list of applications (issue 19, item 4): `GET /api/v1/applications`, signed like
every read, for the declarant and its registered representatives only, newest first in pages whose
opaque cursor the gateway authenticates. Runs on SQLite and, with NSW_TEST_DATABASE_URL, PostgreSQL.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.test import TestResponse

from gateway.bootstrap import Services
from gateway.domain.identifiers import Bin
from gateway.pki.dev import DevPki
from gateway.storage.models import ApplicationRow
from gateway.trust.representatives import Role
from tests.responses import json_of
from tests.security.conftest import XML, problem_code
from tests.trader_requests import identity, signature_headers

STEPPE, ALTYN, KAZTRANS = "210540012341", "190340025677", "181240044780"
NOBODY = "990140000007"  # a valid BIN no one has lodged for
SAMPLE_REFERENCE = b"STEPPE-2026-0001"


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def services(app: Flask) -> Services:
    svc: Services = app.extensions["nsw"]
    return svc


@pytest.fixture
def lodge(client: FlaskClient, signed_sample: Callable[..., bytes]) -> Callable[[str], str]:
    """lodge(reference): a steppe application under that trader reference; returns its id."""

    def submit(reference: str) -> str:
        body = signed_sample(
            "fresh-apples-import",
            edit=lambda raw: raw.replace(SAMPLE_REFERENCE, reference.encode()),
        )
        response = client.post("/api/v1/applications", data=body, headers=XML)
        assert response.status_code == 202, response.json
        return str(json_of(response)["id"])

    return submit


@pytest.fixture
def seven(lodge: Callable[[str], str]) -> list[str]:
    """Seven steppe applications, in the order lodged."""
    return [lodge(f"LIST-{n}") for n in range(1, 8)]


def get(client: FlaskClient, pki: DevPki, who: str | None, path: str) -> TestResponse:
    """`path` read with a fresh signature of `who` (a dev PKI slug), or unsigned for None."""
    headers = signature_headers(identity(pki, who), path) if who else {}
    return client.get(path, headers=headers)


def listing(**params: Any) -> str:
    return "/api/v1/applications?" + urlencode({k: v for k, v in params.items() if v is not None})


def pages(
    client: FlaskClient, pki: DevPki, path: str, who: str = "trader-steppe"
) -> list[list[str]]:
    """Every page's ids, following `next` links to the end."""
    ids: list[list[str]] = []
    next_path: str | None = path
    while next_path:
        response = get(client, pki, who, next_path)
        assert response.status_code == 200, response.json
        ids.append([item["id"] for item in json_of(response)["items"]])
        next_path = json_of(response)["links"].get("next")
    return ids


def flat(paged: list[list[str]]) -> list[str]:
    return [application_id for page in paged for application_id in page]


def set_rows(services: Services, ids: list[str], **values: Any) -> None:
    with services.store.transaction() as s:
        s.execute(update(ApplicationRow).where(ApplicationRow.id.in_(ids)).values(**values))


# --- paging ------------------------------------------------------------------------------------


def test_pages_are_newest_first_without_repeats_or_gaps(
    client: FlaskClient, pki: DevPki, seven: list[str], lodge: Callable[[str], str]
) -> None:
    first = get(client, pki, "trader-steppe", listing(declarant=STEPPE, limit=3))
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    assert [item["id"] for item in json_of(first)["items"]] == seven[::-1][:3]

    newer = lodge("LIST-8")  # lodged between two pages: the next pages neither shift nor repeat
    rest = pages(client, pki, json_of(first)["links"]["next"])
    assert rest == [seven[::-1][3:6], seven[::-1][6:]]

    # A fresh listing starts with the newest, and the default page holds them all.
    everything = json_of(get(client, pki, "trader-steppe", listing(declarant=STEPPE)))
    assert [item["id"] for item in everything["items"]] == [newer, *seven[::-1]]
    assert everything["links"] == {}


def test_applications_received_at_the_same_instant_page_by_id(
    client: FlaskClient, pki: DevPki, seven: list[str], services: Services
) -> None:
    set_rows(services, seven, received_at=dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC))
    got = pages(client, pki, listing(declarant=STEPPE, limit=3))
    assert [len(page) for page in got] == [3, 3, 1]
    assert flat(got) == sorted(seven, reverse=True)


def test_an_item_says_what_the_status_says(
    client: FlaskClient, pki: DevPki, lodge: Callable[[str], str], services: Services
) -> None:
    application_id = lodge("LIST-ITEM")
    decided = dt.datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=dt.UTC)
    set_rows(services, [application_id], status="decided", verdict="released", decided_at=decided)
    item = json_of(get(client, pki, "trader-steppe", listing(declarant=STEPPE)))["items"][0]
    status_path = f"/api/v1/applications/{application_id}"
    status = json_of(get(client, pki, "trader-steppe", status_path))
    assert item == {
        "id": application_id,
        "trader_reference": "LIST-ITEM",
        "state": "decided",
        "verdict": "released",
        "received_at": status["received_at"],
        "decided_at": "2026-12-07T09:30:15Z",
        "links": {"status": status_path, "decision": status_path + "/decision"},
    }


# --- filters -----------------------------------------------------------------------------------


def test_filters_by_state(
    client: FlaskClient, pki: DevPki, seven: list[str], services: Services
) -> None:
    set_rows(services, seven[1:3], status="decided", verdict="refused")
    decided = get(client, pki, "trader-steppe", listing(declarant=STEPPE, state="decided"))
    assert [i["id"] for i in json_of(decided)["items"]] == [seven[2], seven[1]]
    assert {i["verdict"] for i in json_of(decided)["items"]} == {"refused"}
    # The filter holds across pages: the next link carries it.
    open_ = pages(client, pki, listing(declarant=STEPPE, state="in_progress", limit=2))
    assert flat(open_) == [seven[6], seven[5], seven[4], seven[3], seven[0]]


def test_filters_by_since_in_any_offset(
    client: FlaskClient, pki: DevPki, seven: list[str], services: Services
) -> None:
    set_rows(services, seven[:2], received_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    later = get(
        client, pki, "trader-steppe", listing(declarant=STEPPE, since="2026-06-01T00:00:00Z")
    )
    assert [i["id"] for i in json_of(later)["items"]] == seven[::-1][:5]
    # 05:00 at +05:00 is midnight UTC: received at or after it, so the two old ones are in.
    offset = listing(declarant=STEPPE, since="2026-01-01T05:00:00+05:00", limit=4)
    old = sorted(seven[:2], reverse=True)  # received at the same instant: larger id first
    assert flat(pages(client, pki, offset)) == seven[::-1][:5] + old
    just_after = listing(declarant=STEPPE, since="2026-01-01T00:00:00.000001Z")
    assert len(json_of(get(client, pki, "trader-steppe", just_after))["items"]) == 5


# --- who sees what -----------------------------------------------------------------------------


def test_a_representative_lists_the_bin_it_represents_and_no_other(
    client: FlaskClient,
    pki: DevPki,
    seven: list[str],
    services: Services,
    signed_sample: Callable[..., bytes],
) -> None:
    # kaztrans and altyn register their keys by lodging their own applications.
    for sample in ("overweight-machinery-transit", "live-cattle-import"):
        assert (
            client.post("/api/v1/applications", data=signed_sample(sample), headers=XML).status_code
            == 202
        )
    services.representatives.register(Bin(STEPPE), Bin(KAZTRANS), Role.CARRIER)

    mine = get(client, pki, "trader-kaztrans", listing(declarant=STEPPE))
    assert [i["id"] for i in json_of(mine)["items"]] == seven[::-1]
    own = json_of(get(client, pki, "trader-kaztrans", listing(declarant=KAZTRANS)))["items"]
    assert [i["trader_reference"] for i in own] != [] and not set(seven) & {i["id"] for i in own}

    refused = get(client, pki, "trader-kaztrans", listing(declarant=ALTYN))
    assert refused.status_code == 403 and "items" not in json_of(refused)


def test_another_trader_learns_nothing_of_the_declarant(
    client: FlaskClient, pki: DevPki, seven: list[str], signed_sample: Callable[..., bytes]
) -> None:
    assert (
        client.post(
            "/api/v1/applications", data=signed_sample("live-cattle-import"), headers=XML
        ).status_code
        == 202
    )
    theirs = get(client, pki, "trader-altyn", listing(declarant=STEPPE))
    unknown = get(client, pki, "trader-altyn", listing(declarant=NOBODY))
    assert theirs.status_code == unknown.status_code == 403
    assert problem_code(theirs) == problem_code(unknown)
    assert theirs.json == unknown.json  # the same answer, whether or not the BIN lodged anything
    assert not any(ref in theirs.data for ref in (b"LIST-", *(i.encode() for i in seven)))
    # The steppe list shows none of altyn's.
    steppe = json_of(get(client, pki, "trader-steppe", listing(declarant=STEPPE)))["items"]
    assert {i["trader_reference"] for i in steppe} == {f"LIST-{n}" for n in range(1, 8)}


def test_an_unsigned_list_is_401(client: FlaskClient, pki: DevPki, seven: list[str]) -> None:
    response = get(client, pki, None, listing(declarant=STEPPE))
    assert response.status_code == 401 and problem_code(response) == "unauthenticated"
    assert "items" not in json_of(response)
    assert 'tag="nsw-trader"' in response.headers["Accept-Signature"]


# --- values from outside -----------------------------------------------------------------------


BAD_PARAMETERS = [
    {},  # no declarant
    {"declarant": "210540012342"},  # check digit
    {"declarant": STEPPE, "limit": "0"},
    {"declarant": STEPPE, "limit": "101"},
    {"declarant": STEPPE, "limit": "ten"},
    {"declarant": STEPPE, "state": "withdrawn"},
    {"declarant": STEPPE, "state": "DECIDED"},
    {"declarant": STEPPE, "since": "2026-12-07"},
    {"declarant": STEPPE, "since": "2026-12-07T09:30:00"},  # no offset: which time?
    {"declarant": STEPPE, "since": "2026-13-07T09:30:00Z"},
    {"declarant": STEPPE, "since": "0001-01-01T00:00:00+01:00"},  # before year 1 in UTC
    {"declarant": STEPPE, "cursor": "x" * 257},
]


def test_bad_parameters_are_400(
    client: FlaskClient, pki: DevPki, lodge: Callable[[str], str]
) -> None:
    lodge("LIST-1")  # registers steppe's key; one database for every case keeps this fast
    for params in BAD_PARAMETERS:
        response = get(client, pki, "trader-steppe", listing(**params))
        assert response.status_code == 400, (params, response.json)
        assert problem_code(response) == "invalid-parameter", params


def test_limit_bounds_are_inclusive(client: FlaskClient, pki: DevPki, seven: list[str]) -> None:
    one = json_of(get(client, pki, "trader-steppe", listing(declarant=STEPPE, limit=1)))
    assert len(one["items"]) == 1 and "next" in one["links"]
    hundred = json_of(get(client, pki, "trader-steppe", listing(declarant=STEPPE, limit=100)))
    assert len(hundred["items"]) == 7 and hundred["links"] == {}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_forged_or_tampered_cursor_is_400(
    client: FlaskClient, pki: DevPki, seven: list[str]
) -> None:
    first = json_of(get(client, pki, "trader-steppe", listing(declarant=STEPPE, limit=3)))
    cursor = parse_qs(urlsplit(first["links"]["next"]).query)["cursor"][0]
    sort_key, mac = cursor.split(".")
    moment, last_id = _unb64(sort_key).decode().split(" ")
    assert last_id == seven[4]  # the sort key of the last item shown

    def refused(bad: str, **params: Any) -> None:
        params = {"declarant": STEPPE, "limit": 3, **params, "cursor": bad}
        response = get(client, pki, "trader-steppe", listing(**params))
        assert response.status_code == 400, (bad, response.json)
        assert problem_code(response) == "invalid-parameter" and "items" not in json_of(response)

    # Another position with the genuine MAC: skip ahead, or back to the start.
    refused(f"{_b64(f'{moment} {seven[0]}'.encode())}.{mac}")
    refused(f"{_b64(b'9999-12-31T23:59:59.999999Z ' + seven[6].encode())}.{mac}")
    # A flipped bit in the MAC, no MAC, a MAC of another key, garbage.
    refused(f"{sort_key}.{_b64(bytes([_unb64(mac)[0] ^ 1]) + _unb64(mac)[1:])}")
    refused(sort_key)
    refused(f"{sort_key}.{_b64(b'0' * 32)}")
    refused("not-a-cursor")
    refused(f"{sort_key}.{mac}.{mac}")
    # The genuine cursor, but for another list: it is bound to the filters that made it.
    refused(cursor, state="in_progress")
    refused(cursor, since="2026-01-01T00:00:00Z")
    # ... and the genuine one still works, with a different page size.
    ok = get(client, pki, "trader-steppe", listing(declarant=STEPPE, limit=10, cursor=cursor))
    assert [i["id"] for i in json_of(ok)["items"]] == seven[::-1][3:]


def test_hostile_values_in_every_parameter_are_400(
    client: FlaskClient, pki: DevPki, lodge: Callable[[str], str]
) -> None:
    lodge("LIST-1")  # a registered signer, so each request gets past the signature check
    hostile = [str(2**64), "9" * 10_000, "x" * 10_000, "NSW\n1", "²", "..", "a.b.c"]
    for name in ("declarant", "state", "since", "limit", "cursor"):
        for value in hostile:
            response = get(
                client, pki, "trader-steppe", listing(**{"declarant": STEPPE, name: value})
            )
            assert response.status_code == 400, (name, value[:20], response.json)
            assert problem_code(response) == "invalid-parameter"
