"""Keeping customers' link tokens out of the logs.

Survey, confirmation and sign-in links carry their secret in the URL path, and access
logs (werkzeug's, gunicorn's) write every path. This filter rewrites those path parts to
`…` in each record, before any handler formats it.
"""
from __future__ import annotations

import logging
import re

from flask import Flask

REDACTED = "…"
_END = r"""[^/?#\s"'<>]"""
_PATTERNS = (
    re.compile(rf"(/s/){_END}+"),  # a survey link (and its /unsubscribe)
    re.compile(rf"(/portal/confirm/){_END}+"),  # a resolution's one-click confirmation
    re.compile(rf"(/portal/login/)(?!sent(?![^/?#\s\"'<>])){_END}+"),  # a sign-in link
    # A signed portal link to one ticket (a bare ticket number like T-000123 is no secret).
    re.compile(rf"(/portal/tickets/){_END}{{20,}}"),
)
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def redact(text: str) -> str:
    """The text with every link token replaced by `…`."""
    for pattern in _PATTERNS:
        text = pattern.sub(rf"\g<1>{REDACTED}", text)
    return text


def _redacted_arg(value: object) -> object:
    # Only text: the servers log request lines and paths as strings. Turning any other
    # object into text here would run its __str__ for every record of every logger.
    if not isinstance(value, str):
        return value
    cleaned = redact(value)
    return value if cleaned == value else cleaned


class TokenFilter(logging.Filter):
    """Rewrites link tokens in a record's message and arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        args = record.args
        if isinstance(args, tuple):
            cleaned_args = tuple(_redacted_arg(arg) for arg in args)
            # New arguments only for a record that held a token: the filter sees every
            # record of every logger, and leaves all others exactly as they were.
            if any(new is not old for new, old in zip(cleaned_args, args, strict=True)):
                record.args = cleaned_args
        elif isinstance(args, dict):
            # In place: gunicorn's access atoms are a dict subclass answering missing keys.
            for key, value in list(args.items()):
                cleaned = _redacted_arg(value)
                if cleaned is not value:
                    args[key] = cleaned
        return True


def install(app: Flask) -> TokenFilter:
    """Add the filter to the server loggers, the app's logger and the root handlers (once)."""
    token_filter = TokenFilter()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    loggers.append(app.logger)
    targets: list[logging.Filterer] = [*loggers, *logging.getLogger().handlers]
    for target in targets:
        # Records propagated from child loggers skip the parents' logger filters but not
        # the root handlers' filters: the handlers catch every other logger's records.
        if not any(isinstance(existing, TokenFilter) for existing in target.filters):
            target.addFilter(token_filter)
    return token_filter
