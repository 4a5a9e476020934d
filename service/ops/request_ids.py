"""Request ids, and the ids-only context (user, ticket) each log line of a request carries.

A request keeps the caller's `X-Request-ID` when it is safe to echo and log (at most 64
characters of letters, digits, `.`, `_`, `-`), else gets a fresh uuid4; the id is on
`flask.g.request_id` and on every response, so a user's error report, the access line
and a proxy's log can be matched.
"""
from __future__ import annotations

import re
import time
import uuid
from typing import Any

from flask import Flask, g, has_request_context, request
from werkzeug.wrappers import Response

from service.logs import redact

HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# A ticket number in a URL (the portal's /portal/tickets/<ref> takes a number or a token).
_TICKET_NUMBER = re.compile(r"T-[0-9]{6,10}")


def safe_request_id(candidate: str | None) -> str:
    """The candidate when it is a safe id, else a new uuid4 hex."""
    if candidate and _SAFE_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


def begin_request() -> None:
    """Give this request its id and start its clock (runs before any other hook)."""
    g.request_id = safe_request_id(request.headers.get(HEADER))
    g.request_started_at = time.perf_counter()


def current_request_id() -> str | None:
    """The id of the request being handled, or None outside a request."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        # A hook that ran before ours failed (or the fixture cleared g): still one id.
        begin_request()
    return g.request_id


def echo_request_id(response: Response) -> Response:
    """Put the request id on the response."""
    request_id = current_request_id()
    if request_id:
        response.headers[HEADER] = request_id
    return response


def elapsed_ms() -> float | None:
    """Milliseconds since the request began, or None when its clock never started."""
    started = g.get("request_started_at") if has_request_context() else None
    return None if started is None else round((time.perf_counter() - started) * 1000, 1)


def staff_user_id() -> int | None:
    """The staff user of the API token or the console session, if already known.

    Only what the request loaded anyway is read: logging never costs a session query.
    """
    if not has_request_context():
        return None
    for user in (g.get("user"), g.get("_login_user")):  # API token; Flask-Login's user
        user_id = getattr(user, "id", None)
        if isinstance(user_id, int) and getattr(user, "is_authenticated", True):
            return user_id
    return None


def ticket_number() -> str | None:
    """The number of the one ticket this request's URL concerns (e.g. T-000123), or None."""
    if not has_request_context():
        return None
    view_args = request.view_args or {}
    ticket_id = view_args.get("ticket_id")
    if isinstance(ticket_id, int):
        from tickets.models import format_number

        return format_number(ticket_id)
    ref = view_args.get("ref")
    if isinstance(ref, str) and _TICKET_NUMBER.fullmatch(ref):
        return ref  # a signed link token is never logged, only a plain number
    return None


def request_fields() -> dict[str, Any]:
    """The ids-only context of the current request for a log line (empty outside one)."""
    if not has_request_context():
        return {}
    return {"request_id": current_request_id(), "user_id": staff_user_id(),
            "ticket": ticket_number(), "method": request.method,
            # Never the query string (it can carry tokens, e-mails); link tokens redacted.
            "path": redact(request.path)}


def install_request_ids(app: Flask) -> None:
    """Assign ids first thing in every request and echo them on every response."""
    app.before_request_funcs.setdefault(None, []).insert(0, begin_request)
    app.after_request(echo_request_id)
