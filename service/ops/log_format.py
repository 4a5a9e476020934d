"""Log lines: one JSON object per line in production, readable text for `make run`.

`LOG_FORMAT` (config, else the environment) chooses `json` or `text` (the default). Either
way the app writes one access line per request (logger `loopdesk.access`) in place of
werkzeug's; gunicorn's own access log stays off. Lines carry ids only: the request id, the
staff user's id, the ticket number; never e-mail addresses, names, message text or query
strings (addresses in messages and tracebacks are masked as a last line of defence).
"""
from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from service.logs import redact
from service.ops.request_ids import elapsed_ms, request_fields

ACCESS_LOGGER = "loopdesk.access"
access_log = logging.getLogger(ACCESS_LOGGER)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_CONTEXT = ("request_id", "user_id", "ticket", "method", "path")
_ACCESS = ("status", "duration_ms")
# werkzeug's development server logs each request as '"%s" %s %s' at INFO; ours replaces it.
_WERKZEUG_REQUEST_LINE = '"%s" %s %s'


def scrub(text: str) -> str:
    """The text without link tokens or e-mail addresses."""
    return _EMAIL.sub("…@…", redact(text))


def log_format(app: Flask) -> str:
    """`json` or `text`: the LOG_FORMAT config value, else the environment, else text."""
    value = app.config.get("LOG_FORMAT") or os.environ.get("LOG_FORMAT") or "text"
    return "json" if str(value).strip().lower() == "json" else "text"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request context, error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name,
            "message": scrub(record.getMessage())}
        context = _context_of(record)
        entry.update({key: context.get(key) for key in _CONTEXT})
        for key in _ACCESS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = scrub(record.exc_text)
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The usual text line, with the request id (and access fields) appended when known."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = _context_of(record)
        extras = [f"{key}={context[key]}" for key in ("request_id", "user_id", "ticket")
                  if context.get(key) is not None]
        extras += [f"{key}={getattr(record, key)}" for key in _ACCESS if hasattr(record, key)]
        if not extras:
            return line
        head, newline, rest = line.partition("\n")  # keep a traceback below the fields
        return f"{head} [{' '.join(extras)}]{newline}{rest}"


def _context_of(record: logging.LogRecord) -> dict[str, Any]:
    # The access line brings its context along; any other record inside a request gets
    # the request's context now (handlers format synchronously, in the request's thread).
    given = getattr(record, "request_context", None)
    return given if isinstance(given, dict) else request_fields()


class _DropWerkzeugRequestLines(logging.Filter):
    """werkzeug's per-request line duplicates our access line (and shows query strings)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # werkzeug prefixes it with the address and time: '1.2.3.4 - - [date] "%s" %s %s'.
        return not str(record.msg).rstrip().endswith(_WERKZEUG_REQUEST_LINE)


def log_access(status: int) -> None:
    """Write the access line of the current request."""
    context = request_fields()
    access_log.info("%s %s %s", context.get("method"), context.get("path"), status,
                    extra={"request_context": context, "status": status,
                           "duration_ms": elapsed_ms()})


def configure_logging(app: Flask) -> None:
    """Format the root handlers' lines (JSON or text) and replace werkzeug's access line."""
    formatter: logging.Formatter = JsonFormatter() if log_format(app) == "json" \
        else TextFormatter()
    root = logging.getLogger()
    handlers = list(root.handlers)
    # gunicorn's error log has its own handlers: in JSON mode its lines are JSON too.
    if log_format(app) == "json":
        handlers += logging.getLogger("gunicorn.error").handlers
    for handler in handlers:
        if type(handler).__module__.startswith("_pytest"):
            continue  # the test runner's capture handlers keep their own format
        if not isinstance(handler.formatter, (JsonFormatter, TextFormatter)) \
                or type(handler.formatter) is not type(formatter):
            handler.setFormatter(formatter)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, _DropWerkzeugRequestLines) for f in werkzeug.filters):
        werkzeug.addFilter(_DropWerkzeugRequestLines())
