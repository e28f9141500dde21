"""Response headers every answer of the gateway carries, set in one place (issue 15, item 11).

- `Strict-Transport-Security` (RFC 6797) when the gateway is served over TLS (`Config.hsts_max_age`);
  a browser ignores it on plain http (§8.1), so it is sent whatever scheme the proxy in front used.
- `X-Content-Type-Options: nosniff`: a trader's receipt or an evidence bundle is never run as a
  script or page because a browser guessed its type.
- `Cache-Control: no-store` on every answer but static files: applications, decisions, evidence,
  OMC pages and their JSON (bundles, chart data) are personal and change; no browser or shared
  cache may keep them. A view that chose its own caching on purpose keeps it (the trail's tiles
  are immutable by design, c2sp.org/tlog-tiles).
"""

from __future__ import annotations

from flask import Flask, Response, request

from gateway.config import Config


def install(app: Flask, config: Config) -> None:
    max_age = config.hsts_max_age()

    @app.after_request
    def security_headers(response: Response) -> Response:
        if max_age:
            response.headers["Strict-Transport-Security"] = f"max-age={max_age}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if not _static(request.endpoint) and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response


def _static(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))
