"""The /api/v1 blueprint: bearer-token auth, JSON parsing and OpenAPI metadata."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, g, request
from marshmallow import Schema

from service.auth.models import User
from service.auth.services import user_for_token
from service.errors import InvalidInput, Unauthorized
from service.extensions import csrf



def build_api(children: list[Blueprint]) -> Blueprint:
    """The /api/v1 blueprint (new per app) holding each domain's API blueprint."""
    api = Blueprint("api", __name__, url_prefix="/api/v1")
    api.before_request(_authenticate)
    for child in children:
        api.register_blueprint(child)
        # Bearer tokens, not cookies: no cross-site request can carry them.
        csrf.exempt(child)
    csrf.exempt(api)
    return api


def doc(summary: str, *, tags: list[str], body: Schema | type[Schema] | None = None,
        query: Schema | type[Schema] | None = None,
        responses: dict[int, Any] | None = None, public: bool = False,
        token_optional: bool = False, headers: dict[str, str] | None = None,
        raw_body: str | None = None) -> Callable:
    """Describe an endpoint for the OpenAPI document; `public` skips token auth.

    `token_optional` (with `public`): anyone may call it, and a staff token, when sent, is
    checked (401 if bad) and `optional_user()` returns its user, who may see more.

    `raw_body` names the media type of a body that is not JSON (e.g. message/rfc822).
    """

    def decorate(view: Callable) -> Callable:
        view.openapi = {"summary": summary, "tags": tags, "body": body, "query": query,
                        "responses": responses or {}, "public": public,
                        "token_optional": token_optional,
                        "headers": headers or {}, "raw_body": raw_body}
        return view

    return decorate


def _authenticate() -> None:
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint or "")
    described = getattr(view, "openapi", {})
    if described.get("public") and not (described.get("token_optional")
                                        and "Authorization" in request.headers):
        g.user = None
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send a staff API token as 'Authorization: Bearer <token>'.")
    user = user_for_token(token.strip())
    if user is None:
        raise Unauthorized("The API token is invalid, expired or revoked.")
    g.user = user


def current_user() -> User:
    """The authenticated staff user of this API request."""
    return g.user


def optional_user() -> User | None:
    """The staff user of a `token_optional` request, or None for an anonymous caller."""
    return g.get("user")


def json_body(schema: Schema) -> dict[str, Any]:
    """Parse the request's JSON object with `schema` (unknown fields are errors)."""
    if not request.is_json:
        raise InvalidInput("Send a JSON body with 'Content-Type: application/json'.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.")
    return schema.load(data)


def query_args(schema: Schema) -> dict[str, Any]:
    """Parse query-string arguments with `schema` (unknown ones are errors)."""
    flat: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        flat[key] = values if len(values) > 1 else values[0]
    return schema.load(flat)
