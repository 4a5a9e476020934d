"""POST /api/v1/auth/tokens: trade a staff email and password for an API token."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app

from service import audit
from service.api import doc, json_body
from service.auth.services import authenticate, issue_token
from service.errors import Unauthorized
from service.extensions import db, limiter
from service.schemas import TokenOut, TokenRequest

blueprint = Blueprint("auth_api", __name__)
_request, _out = TokenRequest(), TokenOut()
TOKEN_TTL = timedelta(days=90)


@blueprint.post("/auth/tokens")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"])
@doc("Get an API token with a staff email and password", tags=["auth"], body=TokenRequest,
     responses={201: TokenOut}, public=True)
def create_token():
    data = json_body(_request)
    user = authenticate(data["email"], data["password"])
    if user is None:
        db.session.rollback()
        audit.record_sign_in_failure(data["email"])
        db.session.commit()
        raise Unauthorized("Wrong email or password.")
    token = issue_token(user, name="password login", ttl=TOKEN_TTL)
    expires_at = user.tokens[-1].expires_at if user.tokens else None
    audit.record("api_token.create", object_type="api_token", object_id=user.tokens[-1].id,
                 changes={"name": [None, "password login"]}, actor=user)
    db.session.commit()
    return _out.dump({"token": token, "expires_at": expires_at}), 201
