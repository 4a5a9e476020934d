"""Chat operations: start a chat as a ticket, visitor messages, the transcript, hand-off.

A chat is an ordinary ticket on the chat channel: the visitor's messages are customer
messages, agents answer from the console as on any ticket. While the visitor's widget
polls, replies reach them in the chat; when nobody answered within
CHAT_AGENT_WAIT_SECONDS, or the widget is gone, the ticket goes on by email.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from service import jobs
from service.db_types import utcnow
from service.errors import Conflict, NotFound
from service.extensions import db
from service.i18n import locale_for
from tickets import conversation, intake, timeline
from tickets.channels.chat.models import ChatMessageKey, ChatSession
from tickets.models import (OPEN_STATUSES, ActorKind, Channel, Message, Status, Ticket,
                            Visibility, format_number)

TOKEN_PREFIX = "chat_"
SESSION_TTL = timedelta(hours=24)  # after the visitor's last request
PRESENCE_WINDOW = timedelta(seconds=60)  # a widget polls every few seconds while open
TRANSCRIPT_PAGE = 200
_SESSION_GONE = "No such chat session, or it has expired."


@dataclass(frozen=True)
class StartedChat:
    session: ChatSession
    token: str  # shown to the visitor once; only its hash is kept
    ticket: Ticket
    messages: list[Message]
    notice: str


@dataclass(frozen=True)
class PollResult:
    messages: list[Message]
    handed_off: bool
    closed: bool
    notice: str | None


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a session token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, name: str, email: str, message: str, origin: str | None,
                  language: str | None, page_url: str | None = None,
                  user_agent: str | None = None) -> StartedChat:
    """Open a chat: a new chat-channel ticket (no acknowledgement mail) and its session."""
    language = language or intake.guess_language(message)
    result = intake.submit(intake.IntakeRequest(
        subject=intake.subject_from(message), description=message, customer_email=email,
        customer_name=name, channel=Channel.CHAT, language=language, acknowledge=False),
        commit=False)  # the ticket and its session commit together, or neither
    ticket = result.ticket
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    now = utcnow()
    session = ChatSession(ticket_id=ticket.id, contact_id=ticket.contact_id,
                          token_hash=hash_token(token), language=language,
                          origin=(origin or None) and origin[:200], page_url=page_url,
                          user_agent=(user_agent or "")[:200] or None, created_at=now,
                          last_seen_at=now, expires_at=now + SESSION_TTL)
    db.session.add(session)
    db.session.flush()
    timeline.record(ticket.id, "chat_started", contact_id=ticket.contact_id,
                    channel=Channel.CHAT.value, at=now, session_id=session.id,
                    origin=session.origin, page_url=page_url)
    db.session.commit()
    with force_locale(locale_for(language)):
        notice = _("Thank you. Your conversation is ticket %(number)s; an agent will "
                   "answer here shortly.", number=format_number(ticket.id))
    messages = [result.message] if result.message is not None else []
    return StartedChat(session, token, ticket, messages, notice)


def authenticate(session_id: int, token: str, now: datetime) -> ChatSession:
    """The session this token opens, marked as seen now; NotFound for anything else."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise NotFound(_SESSION_GONE)
    # A write first, before any read: on SQLite a GET's transaction is deferred, and one
    # that read before writing could fail at once if another writer got in between.
    touched = db.session.execute(
        update(ChatSession)
        .where(ChatSession.id == session_id, ChatSession.token_hash == hash_token(token),
               ChatSession.expires_at > now)
        .values(last_seen_at=now, expires_at=now + SESSION_TTL)
        .execution_options(synchronize_session=False)).rowcount
    if touched != 1:
        raise NotFound(_SESSION_GONE)
    return db.session.get(ChatSession, session_id)


def post_visitor_message(session: ChatSession, body: str, client_id: str | None,
                         now: datetime) -> tuple[Message, bool]:
    """Add the visitor's message to the ticket; a retry with the same client_id returns it.

    Returns the message and whether it was created now.
    """
    body_hash = hashlib.sha256(body.encode()).hexdigest()
    if client_id is not None:
        replay = _replay(session.id, client_id, body_hash)
        if replay is not None:
            return replay, False
    if session.closed_at is not None:
        raise Conflict("This chat has ended. Start a new chat.")
    ticket = db.session.get(Ticket, session.ticket_id, with_for_update=True)
    if ticket is None or ticket.status == Status.CLOSED:
        raise Conflict("This conversation is closed. Start a new chat.")
    message = conversation.add_customer_message(ticket, session.contact_id, body,
                                                Channel.CHAT, now)
    if client_id is not None:
        db.session.add(ChatMessageKey(session_id=session.id, client_id=client_id,
                                      message_id=message.id, body_hash=body_hash,
                                      created_at=now))
        try:
            db.session.flush()
        except IntegrityError:
            session_id = session.id
            db.session.rollback()  # a concurrent retry of the same message won
            replay = _replay(session_id, client_id, body_hash)
            if replay is None:
                raise
            return replay, False
    db.session.commit()
    return message, True


def messages_after(session: ChatSession, after_id: int,
                   limit: int = TRANSCRIPT_PAGE) -> list[Message]:
    """The ticket's public messages after `after_id`, oldest first; never internal notes."""
    return list(db.session.scalars(
        select(Message)
        .where(Message.ticket_id == session.ticket_id,
               Message.visibility == Visibility.PUBLIC, Message.id > after_id)
        .options(joinedload(Message.author_user), joinedload(Message.author_contact))
        .order_by(Message.id).limit(limit)))


def poll(session: ChatSession, after_id: int, now: datetime) -> PollResult:
    """What the widget shows next: new messages, and whether the chat went to email."""
    handed_off = hand_off_if_waiting(session, now)
    ticket = db.session.get(Ticket, session.ticket_id)
    closed = session.closed_at is not None or ticket is None or ticket.status == Status.CLOSED
    messages = messages_after(session, after_id)
    notice = None
    with force_locale(locale_for(session.language)):
        if closed:
            notice = _("This chat has ended. Start a new chat if you need more help.")
        elif handed_off:
            notice = _("No agent is free right now. We will answer by email at %(email)s.",
                       email=ticket.contact.email)
    db.session.commit()
    return PollResult(messages, handed_off, closed, notice)


def hand_off_if_waiting(session: ChatSession, now: datetime) -> bool:
    """Hand the chat to email (once) when the visitor has waited too long for an agent."""
    if session.handed_off_at is not None:
        return True
    row = db.session.execute(
        update(ChatSession)
        .where(ChatSession.id == session.id, *_should_hand_off(now))
        .values(handed_off_at=now)
        .returning(ChatSession.id, ChatSession.ticket_id)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        return False
    session.handed_off_at = now
    _handed_off(row.id, row.ticket_id, now)
    return True


def hand_off_abandoned(now: datetime) -> int:
    """Hand to email every chat whose visitor waited too long, whether or not still polling.

    A visitor who closed the page never polls again; this sweep sends their
    acknowledgement. Returns how many chats were handed off.
    """
    rows = db.session.execute(
        update(ChatSession)
        .where(ChatSession.expires_at > now, *_should_hand_off(now))
        .values(handed_off_at=now)
        .returning(ChatSession.id, ChatSession.ticket_id)
        .execution_options(synchronize_session=False)).all()
    for row in rows:
        _handed_off(row.id, row.ticket_id, now)
    db.session.commit()
    return len(rows)


def end_session(session: ChatSession, now: datetime) -> None:
    """The visitor ended the chat: no more messages through it, replies go by email."""
    if session.closed_at is None:
        session.closed_at = now
        timeline.record(session.ticket_id, "chat_ended", contact_id=session.contact_id,
                        channel=Channel.CHAT.value, at=now, session_id=session.id)
    db.session.commit()


def visitor_present(ticket_id: int) -> bool:
    """Whether the ticket's visitor is in the chat now (so a reply needs no email too)."""
    now = utcnow()
    # A handed-off widget has stopped polling: from then on the ticket goes on by email.
    return bool(db.session.scalar(select(exists().where(
        ChatSession.ticket_id == ticket_id, ChatSession.closed_at.is_(None),
        ChatSession.handed_off_at.is_(None), ChatSession.expires_at > now,
        ChatSession.last_seen_at >= now - PRESENCE_WINDOW))))


def author_of(message: Message) -> str:
    """How the widget labels a message's author: visitor, agent or system."""
    return {ActorKind.CUSTOMER: "visitor", ActorKind.STAFF: "agent"}.get(
        message.author_kind, "system")


def author_name(message: Message) -> str | None:
    """The name shown beside a message: the agent's or the customer's."""
    if message.author_user is not None:
        return message.author_user.name
    if message.author_contact is not None:
        return message.author_contact.name
    return None


def _should_hand_off(now: datetime) -> list[ColumnElement[bool]]:
    """Conditions on ChatSession: not yet handed off or closed, ticket still open, and a
    visitor message older than the wait with no public staff reply after it."""
    cutoff = now - timedelta(seconds=current_app.config["CHAT_AGENT_WAIT_SECONDS"])
    reply = aliased(Message)
    answered = (select(reply.id)
                .where(reply.ticket_id == Message.ticket_id, reply.id > Message.id,
                       reply.author_kind == ActorKind.STAFF,
                       reply.visibility == Visibility.PUBLIC).exists())
    waiting = (select(Message.id)
               .where(Message.ticket_id == ChatSession.ticket_id,
                      Message.author_kind == ActorKind.CUSTOMER,
                      Message.visibility == Visibility.PUBLIC,
                      Message.created_at <= cutoff, ~answered).exists())
    ticket_open = (select(Ticket.id).where(Ticket.id == ChatSession.ticket_id,
                                           Ticket.status.in_(OPEN_STATUSES)).exists())
    return [ChatSession.handed_off_at.is_(None), ChatSession.closed_at.is_(None),
            ticket_open, waiting]


def _handed_off(session_id: int, ticket_id: int, now: datetime) -> None:
    from tickets import jobs as ticket_jobs

    timeline.record(ticket_id, "chat_handed_off", channel=Channel.CHAT.value, at=now,
                    session_id=session_id)
    # The acknowledgement (ticket number, portal link) is sent at most once per ticket.
    jobs.enqueue(ticket_jobs.send_acknowledgement, ticket_id)


def _replay(session_id: int, client_id: str, body_hash: str) -> Message | None:
    key = db.session.get(ChatMessageKey, (session_id, client_id))
    if key is None:
        return None
    if key.body_hash != body_hash:
        raise Conflict("This client_id was already used for a different message.")
    return db.session.scalar(select(Message).where(Message.id == key.message_id)
                             .options(joinedload(Message.author_contact)))
