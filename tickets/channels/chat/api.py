"""The chat widget's JSON API under /api/v1/chat: parse → call a service → dump.

Public (no staff token); the two session endpoints take the session's own token as
`Authorization: Bearer chat_…`. Browsers may call it from the origins in
CHAT_ALLOWED_ORIGINS (CORS), and a POST from any other origin is refused.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, request
from flask.blueprints import BlueprintSetupState
from flask_cors import CORS
from marshmallow import ValidationError

from service.api import doc, json_body, query_args
from service.db_types import utcnow
from service.errors import Forbidden, InvalidInput, Unauthorized
from service.extensions import limiter
from tickets.channels.chat import services
from tickets.channels.chat.models import ChatSession
from tickets.channels.chat.schemas import (CLIENT_ID, ChatMessageIn, ChatMessageOut, PollOut,
                                           PollQuery, SessionIn, SessionOut)
from tickets.models import Message, format_number

blueprint = Blueprint("chat_api", __name__)

_session_in, _session_out = SessionIn(), SessionOut()
_message_in, _message_out = ChatMessageIn(), ChatMessageOut()
_poll_query, _poll_out = PollQuery(), PollOut()
_SESSION_AUTH = "Send this chat's token as 'Authorization: Bearer chat_…'."


def allowed_origins(app: Flask) -> list[str]:
    """The browser origins (scheme://host[:port]) allowed to use the chat; '*' for any."""
    origins = []
    for value in app.config.get("CHAT_ALLOWED_ORIGINS") or []:
        origin = "*" if value.strip() == "*" else _origin_of(value)
        if origin:
            origins.append(origin)
    return origins


def _exact(origin: str) -> str | re.Pattern:
    # Flask-Cors reads a string holding regex characters ("[::1]") as a pattern; compile
    # an exact, case-insensitive one so an origin never matches more than itself.
    return origin if origin == "*" else re.compile(re.escape(origin) + r"\Z", re.IGNORECASE)


@blueprint.record_once
def _enable_cors(state: BlueprintSetupState) -> None:
    # Only this API answers cross-origin requests, and only to the configured origins.
    prefix = (state.url_prefix or "/api/v1").rstrip("/")
    origins = [_exact(origin) for origin in allowed_origins(state.app)]
    CORS(state.app, resources={rf"{prefix}/chat/.*": {"origins": origins}},
         methods=["GET", "POST", "DELETE", "OPTIONS"],
         allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
         expose_headers=["Retry-After"], supports_credentials=False, max_age=600,
         intercept_exceptions=False)


@blueprint.before_request
def _refuse_foreign_origins() -> None:
    """A browser POST/DELETE from a site that may not embed the chat is refused (403)."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    origin = request.headers.get("Origin")
    if origin is None:
        return  # not a browser's cross-site request (curl, server-side integrations)
    allowed = allowed_origins(current_app)
    own = {_origin_of(request.host_url), _origin_of(current_app.config.get("BASE_URL", ""))}
    if "*" in allowed or _origin_of(origin) in own | set(allowed):
        return
    raise Forbidden("This website is not allowed to use the chat.")


@blueprint.post("/chat/sessions")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"], methods=["POST"])
@doc("Start a chat: it becomes a ticket on the chat channel", tags=["chat"], body=SessionIn,
     responses={201: SessionOut}, public=True)
def start_session():
    data = json_body(_session_in)
    started = services.start_session(
        name=data["name"], email=data["email"], message=data["message"],
        origin=request.headers.get("Origin"), language=data.get("language"),
        page_url=data.get("page_url"), user_agent=request.headers.get("User-Agent"))
    return _session_out.dump({
        "id": started.session.id, "token": started.token,
        "ticket_number": format_number(started.ticket.id),
        "messages": [present(message) for message in started.messages],
        "poll_interval_seconds": _poll_interval(), "notice": started.notice}), 201


@blueprint.post("/chat/sessions/<id:session_id>/messages")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"], methods=["POST"])
@doc("Send the visitor's message (Authorization: Bearer <chat token>); a retry with the "
     "same client_id or Idempotency-Key returns the first message (200)", tags=["chat"],
     body=ChatMessageIn, responses={201: ChatMessageOut, 200: ChatMessageOut}, public=True,
     headers={"Idempotency-Key": "Same as client_id: a retried message is stored once"})
def post_message(session_id: int):
    session = _session(session_id)
    data = json_body(_message_in)
    client_id = _client_id(data.get("client_id"))
    message, created = services.post_visitor_message(session, data["body"], client_id,
                                                     utcnow())
    return _message_out.dump(present(message)), 201 if created else 200


@blueprint.get("/chat/sessions/<id:session_id>/messages")
@limiter.limit(lambda: current_app.config["CHAT_RATELIMIT_POLL"], methods=["GET"])
@doc("New public messages of the chat after a message id (Authorization: Bearer <chat "
     "token>), and whether it went on by email", tags=["chat"], query=PollQuery,
     responses={200: PollOut}, public=True)
def poll_messages(session_id: int):
    after = query_args(_poll_query)["after"]
    session = _session(session_id)
    result = services.poll(session, after, utcnow())
    return _poll_out.dump({"items": [present(message) for message in result.messages],
                           "handed_off": result.handed_off, "closed": result.closed,
                           "notice": result.notice})


@blueprint.delete("/chat/sessions/<id:session_id>")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"], methods=["DELETE"])
@doc("End the chat (Authorization: Bearer <chat token>); the ticket goes on by email",
     tags=["chat"], public=True)
def end_session(session_id: int):
    session = _session(session_id)
    services.end_session(session, utcnow())
    return "", 204


def present(message: Message) -> dict[str, Any]:
    """A message as the visitor sees it: who wrote it and what, never internal fields."""
    return {"id": message.id, "author": services.author_of(message),
            "name": services.author_name(message), "body": message.body,
            "created_at": message.created_at}


def _session(session_id: int) -> ChatSession:
    credentials = request.authorization
    token = (credentials.token or "").strip() if credentials is not None \
        and credentials.type == "bearer" else ""
    if not token:
        raise Unauthorized(_SESSION_AUTH)
    return services.authenticate(session_id, token, utcnow())


def _client_id(from_body: str | None) -> str | None:
    header = request.headers.get("Idempotency-Key")
    if header is not None:
        header = header.strip()
        try:
            CLIENT_ID(header)
        except ValidationError:
            raise InvalidInput(errors={"Idempotency-Key": [
                "Use 1-64 letters, digits, '.', '_', ':' or '-'."]}) from None
        if from_body is not None and from_body != header:
            raise InvalidInput(errors={"client_id": [
                "Differs from the Idempotency-Key header; send one of them."]})
    return from_body or header


def _poll_interval() -> int:
    return int(current_app.config["CHAT_POLL_INTERVAL_SECONDS"])


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")
