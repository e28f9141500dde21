"""Reading what the gateway answered through the Flask test client."""

from __future__ import annotations

from typing import Any

from werkzeug.test import TestResponse


def json_of(response: TestResponse) -> Any:
    """The JSON body of `response` (werkzeug types it `Any | None`: None when the answer is not
    JSON); a test reading a body that is not JSON fails here, with the start of what came."""
    body = response.json
    assert body is not None, response.data[:300]
    return body
