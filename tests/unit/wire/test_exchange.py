"""HTTP message records: recognised and read back whatever the body's size."""

from __future__ import annotations

import json

import pytest

from wire.exchange import UnreadableRecord, body_of, is_record, read_record, record


@pytest.mark.parametrize("size", [0, 10, 1024 * 1024])
def test_a_record_of_any_body_size_is_recognised_and_read_back(size: int) -> None:
    body = b"x" * size
    kept = record({"Content-Type": "application/json", "Signature": "nsw=:abc:"}, body, status=200)
    assert is_record(kept)
    assert body_of(kept) == body
    assert read_record(kept).fields == {
        "content-type": "application/json",
        "signature": "nsw=:abc:",
    }


def test_a_plain_json_body_is_not_a_record() -> None:
    assert not is_record(b'{"body":"eA==","note":"another format"}')
    assert not is_record(b"<Envelope>nsw-http-message-1</Envelope>")
    assert body_of(b'{"a":1}') == b'{"a":1}'
    with pytest.raises(UnreadableRecord):
        read_record(b'{"a":1}')


def test_a_record_serialised_otherwise_still_counts_as_one() -> None:
    """A tampered copy re-serialised with other spacing must reach the strict reader (and the
    verifier's failure), not pass as a message of another kind."""
    kept = json.loads(record({"Signature": "nsw=:abc:"}, b"{}", status=200))
    respaced = json.dumps(kept, indent=2).encode()
    assert is_record(respaced)
    assert read_record(respaced).fields == {"signature": "nsw=:abc:"}
    kept["extra"] = 1
    with pytest.raises(UnreadableRecord):
        read_record(json.dumps(kept).encode())
