"""Log lines as JSON, one object per line, each with the request id of the work at hand."""

from __future__ import annotations

import json
import logging

from gateway.observability.request_context import request_id_var

LOGGER = "gateway"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, and for a record
    logged with an exception (`log.exception`) an `exc` field with its type, message and stack.

    The stack stays inside the one JSON line (newlines escaped), so a log shipper that reads a
    line per record keeps a 500's cause with its request id instead of dropping it."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": request_id_var.get(),
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            exc_type, exc, _tb = record.exc_info
            line["exc"] = {
                "type": f"{exc_type.__module__}.{exc_type.__qualname__}" if exc_type else "",
                "message": str(exc),
                "stack": self.formatException(record.exc_info),
            }
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line)


def install_json_logs() -> None:
    """The gateway's loggers write JSON lines to stderr at INFO and above. Idempotent: every app
    built in one process (tests build many) shares the one handler."""
    gateway_log = logging.getLogger(LOGGER)
    if not any(isinstance(h.formatter, JsonFormatter) for h in gateway_log.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        gateway_log.addHandler(handler)
    gateway_log.setLevel(logging.INFO)
