"""The customer portal's session: who is signed in, to what, since when.

It lives in the Flask session under its own key, beside the staff console's Flask-Login
keys in the same cookie, and touches nothing else there. A magic-link sign-in gives the
scope "all" (every ticket the contact may see); following a ticket's signed mail link
gives just that ticket. Either way it ends PORTAL_SESSION_HOURS after it was issued.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app, g, session

from service.directory.models import Contact
from service.privacy.registry import is_erased_email
from service.extensions import db

SESSION_KEY = "portal"
ALL = "all"
# A browser that follows many mail links keeps at most this many tickets in its cookie.
MAX_SCOPED_TICKETS = 20


@dataclass(frozen=True)
class PortalViewer:
    """The signed-in contact and what the session lets them see."""

    contact: Contact
    ticket_ids: frozenset[int] | None  # None: every ticket the contact may see
    issued_at: int

    @property
    def signed_in_fully(self) -> bool:
        """Whether the session came from a magic-link sign-in (not one ticket's mail link)."""
        return self.ticket_ids is None


def current_viewer() -> PortalViewer | None:
    """The portal viewer of this request, or None (an ended session is forgotten)."""
    if "portal_viewer" in g:
        return g.portal_viewer
    viewer = _load()
    if viewer is None and SESSION_KEY in session:
        session.pop(SESSION_KEY)
    g.portal_viewer = viewer
    return viewer


def _load() -> PortalViewer | None:
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    contact_id, scope, issued_at = data.get("c"), data.get("s"), data.get("iat")
    if not isinstance(contact_id, int) or not isinstance(issued_at, int):
        return None
    if time.time() - issued_at > current_app.config["PORTAL_SESSION_HOURS"] * 3600:
        return None
    if scope == ALL:
        ticket_ids = None
    elif isinstance(scope, list) and all(isinstance(item, int) for item in scope):
        ticket_ids = frozenset(scope)
    else:
        return None
    contact = db.session.get(Contact, contact_id)
    if contact is None:  # deleted (or merged away) since: the session ends with it
        return None
    if is_erased_email(contact.email):  # erased on request: their sessions end at once
        return None
    return PortalViewer(contact, ticket_ids, issued_at)


def sign_in(contact_id: int) -> None:
    """Start a full portal session for the contact (after a magic link)."""
    _store(contact_id, ALL, int(time.time()))


def grant_ticket(contact_id: int, ticket_id: int) -> None:
    """Let this browser see one ticket of the contact (a signed mail link was followed).

    Joins the current session when it is the same contact's; otherwise starts a new one
    for that ticket only (a forwarded link never widens someone else's session).
    """
    viewer = current_viewer()
    if viewer is not None and viewer.contact.id == contact_id:
        if viewer.ticket_ids is None or ticket_id in viewer.ticket_ids:
            return
        ids = [ticket_id, *sorted(viewer.ticket_ids, reverse=True)][:MAX_SCOPED_TICKETS]
        _store(contact_id, ids, viewer.issued_at)
        return
    _store(contact_id, [ticket_id], int(time.time()))


def sign_out() -> None:
    """End the portal session (the staff console's, if any, is left alone)."""
    session.pop(SESSION_KEY, None)
    g.pop("portal_viewer", None)


def _store(contact_id: int, scope: str | list[int], issued_at: int) -> None:
    session[SESSION_KEY] = {"c": contact_id, "s": scope, "iat": issued_at}
    g.pop("portal_viewer", None)
