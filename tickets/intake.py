"""The one intake service every channel goes through.

validate (at the boundary) → find or create the customer → deduplicate → derive priority →
start the SLA clock → route and assign → enqueue the acknowledgement → timeline events.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service import events, jobs
from service.auth.models import User
from service.db_types import utcnow
from service.directory.models import Contact, Tier
from service.directory.services import find_or_create_contact
from service.errors import Conflict
from service.extensions import db
from tickets import routing, sla, timeline
from tickets.models import (ActorKind, Channel, IdempotencyKey, Message, Priority, Status,
                            Ticket, TicketTag, Visibility, format_number)
from tickets.priority import derive_priority


@dataclass
class IntakeRequest:
    """A validated request for a new ticket, whatever channel it came from."""
    subject: str
    description: str
    customer_email: str | None
    channel: Channel
    customer_name: str | None = None
    customer_phone: str | None = None
    customer_company: str | None = None
    urgency: Priority | None = None
    priority: Priority | None = None  # staff only; the caller checks the permission
    category: str | None = None
    product: str | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    actor: User | None = None
    idempotency_key: str | None = None
    idempotency_scope: str = "public"
    fingerprint_source: dict[str, Any] | None = None
    # A channel that already resolved the customer (a caller known by phone) passes it.
    contact: Contact | None = None
    # False where the channel answers by itself (chat) or must not (auto-replies, loops).
    acknowledge: bool = True
    # The customer's original message, when the channel keeps one (e.g. the sanitised
    # HTML of an email); `description` stays the plain text.
    body_html: str | None = None
    # The closed ticket this request repeats (the customer wrote after the grace window).
    follow_up_of_id: int | None = None


@dataclass(frozen=True)
class IntakeResult:
    ticket: Ticket
    created: bool
    message: Message | None = None  # the customer's first message, when created


def submit(request: IntakeRequest, *, commit: bool = True) -> IntakeResult:
    """Turn a request into a ticket (or return the one an idempotent retry made).

    `commit=False` leaves the transaction open for a caller that writes more with the
    ticket (an email's attachments): all of it then commits, or none.
    """
    fingerprint = _fingerprint(request)
    if request.idempotency_key:
        existing = _replay(request, fingerprint)
        if existing is not None:
            return IntakeResult(existing, created=False)
    now = utcnow()
    contact = request.contact or find_or_create_contact(
        request.customer_email, request.customer_name, request.customer_phone,
        request.customer_company, request.language)
    account = contact.account
    text = f"{request.subject}\n{request.description}"
    decision = derive_priority(staff_priority=request.priority, urgency=request.urgency,
                               is_vip=account is not None and account.tier == Tier.VIP,
                               text=text, account_id=account.id if account else None)
    facts = routing.TicketFacts(channel=request.channel.value, category=request.category,
                                product=request.product,
                                language=(request.language or contact.language
                                          or guess_language(text)),
                                tier=account.tier.value if account else None, text=text)
    route = routing.route(facts)
    ticket = Ticket(subject=request.subject, status=Status.NEW, priority=decision.priority,
                    priority_reason=decision.reason, channel=request.channel,
                    language=facts.language, category=request.category,
                    product=request.product, required_skills=route.required_skills,
                    contact=contact, account=account, team_id=route.team_id,
                    assignee_id=None, follow_up_of_id=request.follow_up_of_id,
                    created_by_id=request.actor.id if request.actor else None,
                    created_at=now, updated_at=now)
    ticket.tag_rows = [TicketTag(tag=tag) for tag in request.tags]
    sla.start_clock(ticket, sla.policy_for(decision.priority), now)
    db.session.add(ticket)
    message = Message(ticket=ticket, author_kind=ActorKind.CUSTOMER,
                      author_contact_id=contact.id, visibility=Visibility.PUBLIC,
                      channel=request.channel, body=request.description,
                      body_html=request.body_html, created_at=now)
    db.session.add(message)
    timeline.record(ticket, "created", actor=request.actor,
                    contact_id=None if request.actor else contact.id,
                    channel=request.channel.value, at=now, priority=decision.priority.value,
                    priority_reason=decision.reason, rule=route.rule_name,
                    team_id=route.team_id)
    # Assigned before its INSERT: one flush writes the ticket, message, events and the
    # agent's counters, and the agents' row locks last only until the commit below.
    agent = routing.choose_agent(ticket)
    if agent is not None:
        routing.apply_assignee(ticket, agent, now, actor=None, reason="auto")
    if request.idempotency_key:
        db.session.add(IdempotencyKey(scope=request.idempotency_scope,
                                      key=request.idempotency_key,
                                      request_hash=fingerprint, ticket=ticket))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # a concurrent retry with this key won: answer with its ticket
        existing = _replay(request, fingerprint) if request.idempotency_key else None
        if existing is None:
            raise
        return IntakeResult(existing, created=False)
    if request.follow_up_of_id is not None:
        _link_follow_up(ticket, request.follow_up_of_id, request, now)
    events.ticket_created.send(ticket.id, channel=request.channel.value)
    if agent is not None:
        events.ticket_assigned.send(ticket.id, assignee_id=agent.id)
    from tickets import jobs as ticket_jobs

    if request.acknowledge:
        jobs.enqueue(ticket_jobs.send_acknowledgement, ticket.id)
    if commit:
        db.session.commit()
    return IntakeResult(ticket, created=True, message=message)


def _link_follow_up(ticket: Ticket, previous_id: int, request: IntakeRequest,
                    now: datetime) -> None:
    """Both timelines say the new ticket repeats the closed one (a repeat contact)."""
    who = {"actor": request.actor,
           "contact_id": None if request.actor else ticket.contact_id}
    timeline.record(ticket.id, "follow_up_of", channel=request.channel.value, at=now,
                    ticket_id=previous_id, number=format_number(previous_id), **who)
    timeline.record(previous_id, "follow_up_opened", channel=request.channel.value, at=now,
                    ticket_id=ticket.id, number=ticket.number, **who)


def subject_from(text: str, limit: int = 80) -> str:
    """A subject for a request that came without one: its first non-empty line, shortened."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[:limit - 1] + "…"


def guess_language(text: str) -> str:
    """'zh' when the text is written in Chinese characters, else 'en'."""
    han = sum(1 for char in text if "\u4e00" <= char <= "\u9fff")
    return "zh" if han >= 2 else "en"


def _fingerprint(request: IntakeRequest) -> str:
    source = request.fingerprint_source
    if source is None:
        source = {key: value for key, value in vars(request).items()
                  if key not in {"actor", "idempotency_key", "idempotency_scope", "contact"}
                  # Left out while unset, so requests keep the fingerprints they had
                  # before the field existed (an idempotent retry across an upgrade).
                  and not (key == "follow_up_of_id" and value is None)}
    canonical = json.dumps(source, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(request: IntakeRequest, fingerprint: str) -> Ticket | None:
    row = db.session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.scope == request.idempotency_scope,
        IdempotencyKey.key == request.idempotency_key))
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise Conflict("This Idempotency-Key was already used with a different request body.")
    return db.session.get(Ticket, row.ticket_id)
