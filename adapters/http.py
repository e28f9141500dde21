"""The adapters' HTTP client: one agency endpoint, a keep-alive urllib3 pool, nothing per call
that does not depend on the call.

`requests.Session.send` spent more CPU around a call than urllib3 spends making it: hooks,
cookie extraction, the redirect machinery (for a call that refuses redirects), building a
`Response` and reading its body through generators, after `prepare_request` had merged the
session's settings into the request. An adapter posts exact, signed bytes to one configured
endpoint, so the client here does only what that needs: the connection pool requests' own
`HTTPAdapter` builds for the URL (the same TLS verification and proxy handling, including a proxy
that needs authentication), `urlopen` on it, and one capped read of the answer.

What holds as before: proxy and CA bundle come from the environment, read once per endpoint
(`adapters.environment`); one timeout for connecting and one for each read; no redirect is
followed (a 3xx is an answer like any other, refused by the adapter); no retry (the dispatcher
retries, with its backoff); connections are kept alive and reused. Failures are raised as the
`requests` exceptions `requests` raised for them, so `adapters.errors.transport_failure` words
them as before. Of an answer larger than the caller's limit the rest is not read, and that
connection is closed instead of going back to the pool.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import ProxyError as Urllib3ProxyError
from urllib3.exceptions import SSLError as Urllib3SSLError

from adapters.environment import EnvironmentSettings


@dataclass(frozen=True)
class HttpAnswer:
    """What came back: status, reason phrase, header fields (case-insensitive, repeated fields
    joined with ", " as requests joined them) and the body's bytes; `complete` is False when
    the body was longer than the caller's limit (`content` then holds its first bytes)."""

    status_code: int
    reason: str
    headers: CaseInsensitiveDict[str]
    content: bytes
    complete: bool = True


@dataclass(frozen=True)
class _Target:
    url: str  # as requests normalises it
    request_target: str  # the path, or the whole URL through an HTTP proxy
    pool: Any  # urllib3's connection pool for it, built by requests' HTTPAdapter


class AgencyConnection:
    """POSTs to one agency endpoint. Safe to share between dispatcher threads (urllib3's pools
    are thread-safe; the settings are read once, under a lock)."""

    def __init__(self, endpoint: str, timeout_s: float) -> None:
        self.endpoint = endpoint
        self._session = requests.Session()  # its settings and adapter: never sends anything
        self._environment = EnvironmentSettings(self._session)
        self._timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        self._lock = threading.Lock()
        self._targets: dict[str, _Target] = {}

    def close(self) -> None:
        """Close the kept-alive connections (a later call opens new ones)."""
        with self._lock:
            self._targets.clear()
            self._session.close()

    def url(self, url: str) -> str:
        """`url` as it goes on the wire (requests' normalisation: what a signature covers)."""
        return str(self._target(url).url)

    def _target(self, url: str) -> _Target:
        """Where a POST to `url` goes: found once per URL (and again after `close`)."""
        found = self._targets.get(url)
        if found is None:
            with self._lock:
                shape = requests.Request("POST", url).prepare()
                settings = self._environment.for_endpoint(self.endpoint)
                adapter: Any = self._session.get_adapter(url)
                try:
                    pool = adapter.get_connection_with_tls_context(
                        shape,
                        settings["verify"],
                        proxies=settings["proxies"],
                        cert=settings["cert"],
                    )
                except urllib3.exceptions.LocationValueError as exc:
                    raise requests.exceptions.InvalidURL(exc) from exc
                adapter.cert_verify(pool, url, settings["verify"], settings["cert"])
                target = adapter.request_url(shape, settings["proxies"])
                found = self._targets[url] = _Target(str(shape.url), target, pool)
        return found

    def post(self, url: str, body: bytes, headers: dict[str, str], *, max_bytes: int) -> HttpAnswer:
        """POST `body` with exactly `headers` (plus Host and Content-Length) to `url`, on the
        endpoint's pool. Raises a `requests.RequestException` when no answer arrived whole; reads
        no more than `max_bytes` of the body (`HttpAnswer.complete` says whether that was all)."""
        target = self._target(url)
        try:
            response = target.pool.urlopen(
                "POST",
                target.request_target,
                body=body,
                headers=headers,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                retries=False,
                timeout=self._timeout,
            )
        except (HTTPError, OSError) as exc:
            raise _sending_error(exc) from exc
        try:
            content = response.read(max_bytes + 1, decode_content=True)
        except (HTTPError, OSError) as exc:
            response.close()
            raise _reading_error(exc) from exc
        complete = len(content) <= max_bytes
        if not complete:
            response.close()  # the rest stays unread: this connection cannot carry another call
        response.release_conn()
        return HttpAnswer(
            response.status,
            response.reason or "",
            CaseInsensitiveDict(response.headers),
            content[:max_bytes],
            complete,
        )


def _sending_error(exc: Exception) -> requests.RequestException:
    """The `requests` exception `HTTPAdapter.send` raises for what `urlopen` raised."""
    if isinstance(exc, ProtocolError | OSError):
        return requests.ConnectionError(exc)
    if isinstance(exc, NewConnectionError | ClosedPoolError):
        return requests.ConnectionError(exc)
    if isinstance(exc, ConnectTimeoutError):
        return requests.ConnectTimeout(exc)
    if isinstance(exc, Urllib3ProxyError):
        return requests.exceptions.ProxyError(exc)
    if isinstance(exc, Urllib3SSLError):
        return requests.exceptions.SSLError(exc)
    if isinstance(exc, ReadTimeoutError):
        return requests.ReadTimeout(exc)
    return requests.RequestException(exc)


def _reading_error(exc: Exception) -> requests.RequestException:
    """The `requests` exception `Response.content` raises for what reading the body raised."""
    if isinstance(exc, ProtocolError):
        return requests.exceptions.ChunkedEncodingError(exc)
    if isinstance(exc, DecodeError):
        return requests.exceptions.ContentDecodingError(exc)
    if isinstance(exc, ReadTimeoutError):
        return requests.ConnectionError(exc)
    if isinstance(exc, Urllib3SSLError):
        return requests.exceptions.SSLError(exc)
    return requests.ConnectionError(exc)
