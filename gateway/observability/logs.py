"""Log lines as JSON, one object per line, each with the request id of the work at hand."""

from __future__ import annotations

import json
import logging
import time
from json.encoder import encode_basestring_ascii as _quoted

from gateway.observability.request_context import request_id_var

LOGGER = "gateway"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, and for a record
    logged with an exception (`log.exception`) an `exc` field with its type, message and stack.

    The stack stays inside the one JSON line (newlines escaped), so a log shipper that reads a
    line per record keeps a 500's cause with its request id instead of dropping it."""

    # The second a line's time is written at and that time, quoted: formatting a time costs more
    # than the rest of a plain line, and a busy gateway logs many lines a second.
    _second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.stack_info:
            return json.dumps(self._fields(record))
        # A plain line, written as `json.dumps(self._fields(record))` writes it (the same keys in
        # the same order, ASCII-escaped strings, ", " and ": ") without building the dict and
        # the encoder a call of json.dumps builds: a few lines per application are logged.
        thread = record.threadName
        return (
            f'{{"time": {self._time(record)}, "level": {_quoted(record.levelname)}, '
            f'"logger": {_quoted(record.name)}, "request_id": {_quoted(request_id_var.get())}, '
            f'"thread": {_quoted(thread) if isinstance(thread, str) else json.dumps(thread)}, '
            f'"message": {_quoted(record.getMessage())}}}'
        )

    def _time(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created))
            cached = self._second = (second, _quoted(stamp))
        return cached[1]

    def _fields(self, record: logging.LogRecord) -> dict[str, object]:
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
        return line


def install_json_logs() -> None:
    """The gateway's loggers write JSON lines to stderr at INFO and above. Idempotent: every app
    built in one process (tests build many) shares the one handler."""
    gateway_log = logging.getLogger(LOGGER)
    if not any(isinstance(h.formatter, JsonFormatter) for h in gateway_log.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        gateway_log.addHandler(handler)
    gateway_log.setLevel(logging.INFO)
