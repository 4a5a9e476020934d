"""Signed, expiring links that let a customer follow one ticket without an account."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_SALT = "loopdesk.portal.ticket"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def portal_token(ticket_id: int, contact_id: int) -> str:
    """A token naming one ticket and the contact it was issued to."""
    return _serializer().dumps({"t": ticket_id, "c": contact_id})


def portal_url(ticket_id: int, contact_id: int) -> str:
    """The absolute portal link for the customer's mail."""
    # Built from the URL map, so it works in a job as well as in a request.
    path = current_app.url_map.bind("").build(
        "portal.ticket", {"ref": portal_token(ticket_id, contact_id)})
    return current_app.config["BASE_URL"] + path


def read_portal_token(token: str) -> tuple[int, int] | None:
    """(ticket id, contact id) of a valid, unexpired token, else None."""
    max_age = current_app.config["PORTAL_LINK_MAX_AGE_DAYS"] * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int) \
            or not isinstance(data.get("c"), int):
        return None
    return data["t"], data["c"]
