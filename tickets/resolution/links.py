"""Signed one-click links in the confirmation mails: "Yes, it is fixed" / "No, still a problem".

Each token names one resolution, the contact it was mailed to and one answer; it is signed
with its own salt (a portal or survey token is never accepted here) and expires after
CONFIRMATION_LINK_MAX_AGE_DAYS. The portal serves the page a link leads to.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from werkzeug.routing import BuildError

from service.errors import DomainError, NotFound

_SALT = "loopdesk.resolution.confirmation"
OUTCOMES = ("confirmed", "rejected")
DEFAULT_MAX_AGE_DAYS = 30  # when the app's config does not say (CONFIRMATION_LINK_MAX_AGE_DAYS)
ENDPOINT = "portal.confirmation_link"


class LinkInvalid(NotFound):
    """The token is not one of ours: bad signature or shape (answered like any unknown URL)."""


class LinkExpired(DomainError):
    """The token was ours but is older than the links' lifetime."""

    status, title, slug = 410, "Link expired", "link-expired"


@dataclass(frozen=True)
class LinkData:
    resolution_id: int
    contact_id: int
    outcome: str  # "confirmed" or "rejected"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def max_age_days() -> int:
    """How many days a confirmation link stays valid."""
    return int(current_app.config.get("CONFIRMATION_LINK_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS))


def confirmation_token(resolution_id: int, contact_id: int, outcome: str) -> str:
    """A signed token for one answer ("confirmed" or "rejected") to one resolution."""
    outcome = str(outcome)
    if outcome not in OUTCOMES:
        raise ValueError(f"a confirmation link is for {' or '.join(OUTCOMES)}, not {outcome!r}")
    return _serializer().dumps({"r": resolution_id, "c": contact_id, "o": outcome})


def confirmation_url(resolution_id: int, contact_id: int, outcome: str) -> str:
    """The absolute link for the customer's mail."""
    token = confirmation_token(resolution_id, contact_id, outcome)
    try:
        # Built from the URL map, so it works in a job as well as in a request.
        path = current_app.url_map.bind("").build(ENDPOINT, {"token": token})
    except BuildError:  # the portal's page is not registered in this app
        path = f"/portal/confirm/{token}"
    return current_app.config["BASE_URL"] + path


def read_confirmation_token(token: str) -> LinkData:
    """What a token names, or LinkInvalid (not ours) / LinkExpired (too old)."""
    try:
        data = _serializer().loads(token, max_age=max_age_days() * 86400)
    except SignatureExpired:
        raise LinkExpired("This link has expired.") from None
    except BadData:
        raise LinkInvalid("No such link.") from None
    if (not isinstance(data, dict) or not _is_id(data.get("r")) or not _is_id(data.get("c"))
            or data.get("o") not in OUTCOMES):
        raise LinkInvalid("No such link.")
    return LinkData(resolution_id=data["r"], contact_id=data["c"], outcome=data["o"])


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
