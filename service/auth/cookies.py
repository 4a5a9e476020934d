"""The console's session cookie: marked Secure whenever the request came over TLS."""
from __future__ import annotations

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface


def cookie_secure(app: Flask) -> bool:
    """Whether cookies set in this request should be Secure: configured so, or TLS."""
    return bool(app.config.get("SESSION_COOKIE_SECURE")) or (
        has_request_context() and request.is_secure)


class TLSAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, Secure when SESSION_COOKIE_SECURE or the request is TLS.

    One deployment may be reached over plain HTTP on a laptop and over HTTPS in production;
    a cookie set over HTTPS must never travel back over plain HTTP.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure if configured so, or if this request arrived over TLS."""
        return cookie_secure(app)
