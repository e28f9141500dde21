"""The adapters' HTTP client: one agency endpoint, a keep-alive urllib3 pool, nothing per call
that does not depend on the call.

`requests.Session.send` spent more CPU around a call than urllib3 spends making it: hooks,
cookie extraction, the redirect machinery (for a call that refuses redirects), building a
`Response` and reading its body through generators, after `prepare_request` had merged the
session's settings into the request. An adapter posts exact, signed bytes to one configured
endpoint, so the client here does only what that needs: the connection pool requests' own
`HTTPAdapter` builds for the URL (the same TLS verification and proxy handling, including a proxy
that needs authentication), a connection from it (urllib3 connects, tunnels and verifies), and
one HTTP/1.1 exchange on that connection (`adapters.http1`, framed by h11). `urlopen` and
`http.client` around it cost several times the exchange itself on a loopback call (per-field
putheader checks, the `email` package's header parser, urllib3's response and header wrappers);
the pool's `_get_conn`/`_put_conn`, `_prepare_proxy` and `_validate_conn` are what `urlopen`
itself calls.

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
from http.client import HTTPException
from ssl import CertificateError
from ssl import SSLError as BaseSSLError
from typing import Any

import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from urllib3._version import __version__ as urllib3_version
from urllib3.connection import _wrap_proxy_error
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
from urllib3.util import parse_url
from urllib3.util.proxy import connection_requires_http_tunnel

from adapters import http1
from adapters.environment import EnvironmentSettings

_DEFAULT_PORTS = {"http": 80, "https": 443}


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
    host: str  # the Host field: the URL's host, and its port unless the scheme's default
    pool: Any  # urllib3's connection pool for it, built by requests' HTTPAdapter
    tunnel: bool  # through a proxy by CONNECT (HTTPS), so the proxy's login goes there
    proxy_headers: dict[str, str]  # sent on each request through a forwarding proxy


class AgencyConnection:
    """POSTs to one agency endpoint. Safe to share between dispatcher threads (urllib3's pools
    are thread-safe; the settings are read once, under a lock)."""

    def __init__(self, endpoint: str, timeout_s: float) -> None:
        self.endpoint = endpoint
        self._session = requests.Session()  # its settings and adapter: never sends anything
        self._environment = EnvironmentSettings(self._session)
        self._timeout_s = timeout_s
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
                parsed = parse_url(str(shape.url))
                host = str(parsed.host)
                if parsed.port is not None and parsed.port != _DEFAULT_PORTS.get(
                    parsed.scheme or ""
                ):
                    host = f"{host}:{parsed.port}"
                tunnel = connection_requires_http_tunnel(
                    pool.proxy, pool.proxy_config, parsed.scheme
                )
                forwarded = dict(pool.proxy_headers) if pool.proxy and not tunnel else {}
                found = self._targets[url] = _Target(
                    str(shape.url), target, host, pool, tunnel, forwarded
                )
        return found

    def post(self, url: str, body: bytes, headers: dict[str, str], *, max_bytes: int) -> HttpAnswer:
        """POST `body` with exactly `headers` (plus Host, Content-Length, and Accept-Encoding and
        User-Agent unless given) to `url`, on the endpoint's pool. Raises a
        `requests.RequestException` when no answer arrived whole; reads no more than `max_bytes`
        of the body (`HttpAnswer.complete` says whether that was all)."""
        target = self._target(url)
        pool = target.pool
        given = {name.lower() for name in headers}
        if given & _FRAMING:  # written here from the URL and the body, never twice
            raise requests.exceptions.InvalidHeader(f"{sorted(given & _FRAMING)} are set here")
        fields = {name: value for name, value in _DEFAULTS.items() if name.lower() not in given}
        fields.update(headers)
        if target.proxy_headers:  # a forwarding proxy (no tunnel): its login goes on each request
            fields.update(target.proxy_headers)
        try:
            exchange = http1.Exchange("POST", target.request_target, target.host, fields, body)
        except ValueError as exc:
            raise requests.exceptions.InvalidHeader(exc) from exc
        conn = None
        try:
            conn = pool._get_conn()
            conn.timeout = self._timeout_s  # for connecting
            if target.tunnel and conn.is_closed:
                pool._prepare_proxy(conn)
            pool._validate_conn(conn)  # HTTPS: connects (and verifies) now
            if conn.is_closed:
                conn.connect()
            sock = conn.sock
            sock.settimeout(self._timeout_s)  # for each write and read from here on
            sock.sendall(exchange.data)  # one write: no Nagle wait between head and body
            answer = exchange.read_answer(sock, max_bytes)
        except http1.SlowBody as exc:
            _discard(pool, conn)
            raise requests.ReadTimeout(exc) from exc
        except (http1.BrokenBody, DecodeError) as exc:
            _discard(pool, conn)
            raise _reading_error(exc) from exc
        except (
            TimeoutError,
            HTTPException,
            OSError,
            HTTPError,
            BaseSSLError,
            CertificateError,
        ) as exc:
            _discard(pool, conn)
            raise _sending_error(_as_urllib3(exc, pool, conn, url)) from exc
        if not answer.reusable:
            conn.close()  # the rest stays unread, or the agency closes: not for another call
        pool._put_conn(conn)
        return HttpAnswer(
            answer.status, answer.reason, answer.headers, answer.content, answer.complete
        )


_FRAMING = frozenset({"host", "content-length", "transfer-encoding"})

# Sent unless the caller gives them: the body is read as sent (its digest and signature are
# over those bytes), and the User-Agent urllib3 sent before.
_DEFAULTS = {
    "User-Agent": f"python-urllib3/{urllib3_version}",
    "Accept-Encoding": "identity",
}


def _discard(pool: Any, conn: Any) -> None:
    """A connection an exchange failed on is closed; its slot goes back to the pool."""
    if conn is not None:
        conn.close()
        pool._put_conn(None)


def _as_urllib3(exc: Exception, pool: Any, conn: Any, url: str) -> Exception:
    """What `HTTPConnectionPool.urlopen(retries=False)` raised for `exc` (urllib3 2.x's own
    conversion), so that `_sending_error` words it as requests did."""
    if isinstance(exc, TimeoutError) and not isinstance(exc, HTTPError):
        return ReadTimeoutError(pool, url, f"Read timed out. (read timeout={conn.timeout})")
    new: Exception = exc
    if isinstance(exc, BaseSSLError | CertificateError):
        new = Urllib3SSLError(exc)
    if (
        isinstance(new, OSError | NewConnectionError | Urllib3SSLError | HTTPException)
        and conn is not None
        and conn.proxy
        and not conn.has_connected_to_proxy
    ):
        return _wrap_proxy_error(new, conn.proxy.scheme)
    if isinstance(new, OSError | HTTPException) and not isinstance(new, HTTPError):
        return ProtocolError("Connection aborted.", new)
    return new


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
