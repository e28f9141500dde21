"""What requests takes from the process environment for a call, read once per endpoint.

`requests.Session.request` (and `send`, for its proxies) looks at the environment on every call:
HTTP_PROXY/HTTPS_PROXY/NO_PROXY for the URL, and REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE for `verify`.
That walks `os.environ` several times per call and cost more CPU than preparing the request
itself (bench/path_profile.py). An adapter calls one configured endpoint, so the answer is the
same each time: it is read when the adapter first calls that endpoint and kept. The environment
is the process's configuration, read at start like the rest of it.
"""

from __future__ import annotations

import threading
from typing import Any

import requests


class EnvironmentSettings:
    """`Session.merge_environment_settings` for an endpoint, computed once per endpoint."""

    def __init__(self, session: requests.Session) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._by_endpoint: dict[str, dict[str, Any]] = {}

    def for_endpoint(self, endpoint: str) -> dict[str, Any]:
        """The keyword arguments `Session.send` takes from the environment for calls to
        `endpoint` (proxies, verify, cert, stream), as `Session.request` would merge them."""
        found = self._by_endpoint.get(endpoint)
        if found is None:
            with self._lock:
                merged = self._session.merge_environment_settings(endpoint, {}, None, None, None)
                found = self._by_endpoint[endpoint] = dict(merged)
        return dict(found)  # send() may change its keyword arguments: each call its own copy
