"""`sigbase.fields` reads an agency's answer fields (requests' CaseInsensitiveDict, by its
lowered names) as it reads the same fields in a plain dict."""

from __future__ import annotations

import pytest
from requests.structures import CaseInsensitiveDict

from wire import sigbase

NAMES = frozenset({"content-type", "content-digest", "signature-input", "signature"})


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": " application/json\t", "Signature": "nsw=:AAAA:", "X-Other": "1"},
        {"CONTENT-DIGEST": "sha-256=:x:", "signature-input": 'nsw=("@status")'},
        {"Content-Type": "a\r\n b"},  # a line break: the library reads it
        {"Content-Type": "a\nb", "Signature": "nsw=:AAAA:"},
        {},
    ],
)
def test_the_same_lines_from_a_case_insensitive_dict(headers: dict[str, str]) -> None:
    assert sigbase.fields(CaseInsensitiveDict(headers), NAMES) == sigbase.fields(headers, NAMES)


def test_a_case_insensitive_dict_keeps_its_last_spelling_s_value() -> None:
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict({"content-type": "text/plain"})
    headers["Content-Type"] = "application/json"
    assert sigbase.fields(headers, NAMES) == {"content-type": ["application/json"]}
