"""The request id of the work at hand, for log lines: set per HTTP request (X-Request-Id, or a new
one) and, for a dispatcher, to the request id the application arrived with — so one id follows an
application from intake to its decision in the logs."""

from __future__ import annotations

import contextvars

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
