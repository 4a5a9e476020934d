"""The customer portal's blueprint and what every portal response carries."""
from __future__ import annotations

from flask import Blueprint, Response

blueprint = Blueprint("portal", __name__, url_prefix="/portal")

# Portal URLs may carry a token (mail links): no other site may learn them from a Referer,
# and no shared cache may keep a customer's page. Not "no-referrer": over HTTPS Flask-WTF
# refuses a form POST without a same-origin Referer (WTF_CSRF_SSL_STRICT), and
# "strict-origin" sends only our origin, never a path, to anyone.
REFERRER_POLICY = "strict-origin"


@blueprint.after_request
def _private(response: Response) -> Response:
    response.headers["Referrer-Policy"] = REFERRER_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response
