"""The help centre's visitor: a long-lived random id in a cookie, only ever stored hashed.

A vote needs a "who" to stay one vote per visitor, without an account. The cookie holds
a random id (nothing about the person); the database keeps only its SHA-256.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from flask import Response, current_app, g, request

from service.auth.cookies import cookie_secure
from tickets.portal.auth import current_viewer  # read-only: who is signed in

COOKIE_NAME = "kb_visitor"
COOKIE_MAX_AGE = 2 * 365 * 86400
_ID = re.compile(r"[A-Za-z0-9_-]{32}")  # secrets.token_urlsafe(24)


def visitor_id() -> str:
    """This browser's visitor id: the cookie's, or a new one the response will set."""
    if "kb_visitor_id" not in g:
        raw = request.cookies.get(COOKIE_NAME, "")
        if _ID.fullmatch(raw):
            g.kb_visitor_id, g.kb_visitor_new = raw, False
        else:
            g.kb_visitor_id, g.kb_visitor_new = secrets.token_urlsafe(24), True
    return g.kb_visitor_id


def visitor_key() -> str:
    """The visitor as stored: SHA-256 hex of the cookie id, or, for a contact signed in to
    the portal, a keyed hash of the contact (one vote on every device they use)."""
    viewer = current_viewer()
    if viewer is not None:
        return contact_visitor_key(viewer.contact.id)
    return hashlib.sha256(visitor_id().encode()).hexdigest()


def contact_visitor_key(contact_id: int) -> str:
    """The key a portal contact's votes are stored under (erasure finds them by it)."""
    # Keyed: a plain hash of a small integer could be reversed by trying them all.
    secret = current_app.config["SECRET_KEY"].encode()
    message = f"kb-contact:{contact_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def remember_visitor(response: Response) -> Response:
    """Set the visitor cookie on the response when this browser has none yet."""
    visitor_id()
    if g.kb_visitor_new:
        response.set_cookie(COOKIE_NAME, g.kb_visitor_id, max_age=COOKIE_MAX_AGE,
                            httponly=True, samesite="Lax", secure=cookie_secure(current_app),
                            path="/help")
        g.kb_visitor_new = False
    return response
