"""The periodic SLA sweep: warn at the warning point, escalate at breach, in batches."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, insert, select, update

from service import events, jobs
from service.db_types import utcnow
from service.directory.models import Team
from service.extensions import db
from service.notify.models import Notification
from tickets import sla
from tickets.models import (ActorKind, SlaBreach, SlaTarget, Ticket, TicketEvent,
                            format_number)

_LABEL = {SlaTarget.FIRST_RESPONSE: "first response", SlaTarget.RESOLUTION: "resolution"}


@dataclass
class SweepStats:
    checked: int = 0
    warnings: int = 0
    breaches: int = 0


def sweep(now: datetime | None = None, batch_size: int = 500) -> SweepStats:
    """Handle every ticket whose next SLA check is due, batch by batch.

    Each batch is taken with FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers can
    sweep at once; the check time lives in the database, so nothing is missed after
    downtime: the first sweep afterwards finds everything that fell due meanwhile.
    """
    now = now or utcnow()
    stats = SweepStats()
    recipients: set[int] = set()
    while True:
        rows = db.session.execute(
            select(*_COLUMNS).where(Ticket.sla_next_check_at <= now)
            .order_by(Ticket.sla_next_check_at).limit(batch_size)
            .with_for_update(skip_locked=True, of=Ticket.__table__)).all()
        if not rows:
            break
        # Plain objects, not ORM instances: the clock functions only read and set these
        # attributes, and one executemany UPDATE per batch beats the unit of work.
        tickets = [SimpleNamespace(**row._mapping) for row in rows]
        recipients |= _handle_batch(tickets, now, stats)
        db.session.commit()
        if len(tickets) < batch_size:
            break
    if recipients:
        from tickets import jobs as ticket_jobs

        # One digest per recipient per sweep, however many of their tickets fired; the
        # digest mails every unmailed notice, so a crash before this point loses none.
        for user_id in sorted(recipients):
            jobs.enqueue(ticket_jobs.send_sla_digest, user_id)
        db.session.commit()
    return stats


_STATE_COLUMNS = ("first_response_warned_at", "first_response_breached_at",
                  "resolution_warned_at", "resolution_breached_at", "sla_state",
                  "sla_next_check_at")
_COLUMNS = tuple(getattr(Ticket, name) for name in (
    "id", "team_id", "assignee_id", "priority", "sla_policy_id", "sla_paused_at",
    "first_responded_at", "resolved_at", "first_response_warn_at", "first_response_due_at",
    "resolution_warn_at", "resolution_due_at") + _STATE_COLUMNS)
_UPDATE = (update(Ticket.__table__).where(Ticket.__table__.c.id == bindparam("ticket_id"))
           .values({name: bindparam(name) for name in _STATE_COLUMNS}))


def _handle_batch(tickets: list, now: datetime, stats: SweepStats) -> set[int]:
    """Warn or escalate each ticket of a locked batch; returns who was notified."""
    team_ids = {ticket.team_id for ticket in tickets if ticket.team_id}
    leads: dict[int, int | None] = {}
    if team_ids:
        leads = {row.id: row.lead_id for row in db.session.execute(
            select(Team.id, Team.lead_id).where(Team.id.in_(team_ids)))}
    event_rows: list[dict] = []
    breach_rows: list[dict] = []
    notices: list[dict] = []
    for ticket in tickets:
        stats.checked += 1
        lead_id = leads.get(ticket.team_id)
        for target in sla._active_targets(ticket):
            warn_at, due_at, warned_at, breached_at = sla._times(ticket, target)
            if breached_at is None and due_at is not None and now >= due_at:
                _mark(ticket, target, breached=now, warned=warned_at or now)
                stats.breaches += 1
                breach_rows.append(dict(ticket_id=ticket.id, target=target,
                                        priority=ticket.priority, due_at=due_at,
                                        breached_at=now, team_id=ticket.team_id,
                                        assignee_id=ticket.assignee_id))
                event_rows.append(_event(ticket.id, "sla_breached", now, target, due_at,
                                         escalated_to=lead_id))
                for user_id in {lead_id, ticket.assignee_id} - {None}:
                    notices.append(_notice(user_id, "sla_breached", ticket, target, due_at,
                                           now))
                events.sla_breached.send(ticket.id, target=target.value,
                                         priority=ticket.priority.value)
            elif warned_at is None and warn_at is not None and now >= warn_at:
                _mark(ticket, target, breached=None, warned=now)
                stats.warnings += 1
                event_rows.append(_event(ticket.id, "sla_warning", now, target, due_at))
                recipient = ticket.assignee_id or lead_id
                if recipient is not None:
                    notices.append(_notice(recipient, "sla_warning", ticket, target, due_at,
                                           now))
                events.sla_warning.send(ticket.id, target=target.value)
        sla.refresh_state(ticket, now)
    db.session.execute(_UPDATE, [{"ticket_id": ticket.id, **{name: getattr(ticket, name)
                                                              for name in _STATE_COLUMNS}}
                                 for ticket in tickets])
    for table, batch in ((TicketEvent.__table__, event_rows), (SlaBreach.__table__, breach_rows),
                         (Notification.__table__, notices)):
        if batch:  # executemany: batched into multi-row INSERTs by the driver layer
            db.session.execute(insert(table), batch)
    return {notice["user_id"] for notice in notices}


def _mark(ticket, target: SlaTarget, *, breached: datetime | None,
          warned: datetime) -> None:
    if target is SlaTarget.FIRST_RESPONSE:
        ticket.first_response_warned_at = warned
        if breached:
            ticket.first_response_breached_at = breached
    else:
        ticket.resolution_warned_at = warned
        if breached:
            ticket.resolution_breached_at = breached


def _event(ticket_id: int, kind: str, now: datetime, target: SlaTarget, due_at: datetime,
           **extra) -> dict:
    return dict(ticket_id=ticket_id, kind=kind, actor_kind=ActorKind.SYSTEM, channel=None,
                created_at=now, actor_user_id=None, actor_contact_id=None,
                data={"target": target.value, "due_at": due_at.isoformat(), **extra})


def _notice(user_id: int, kind: str, ticket, target: SlaTarget, due_at: datetime,
            now: datetime) -> dict:
    verb = "breached" if kind == "sla_breached" else "at risk"
    number = format_number(ticket.id)
    return dict(user_id=user_id, kind=kind, subject_ref=f"ticket:{ticket.id}",
                title=f"{number} {_LABEL[target]} {verb} (due {due_at:%Y-%m-%d %H:%M} UTC)",
                dedupe_key=f"{kind}:{ticket.id}:{target.value}:{due_at.isoformat()}:{user_id}",
                data={"number": number, "target": target.value,
                      "due_at": due_at.isoformat()},
                created_at=now, emailed_at=None, read_at=None)
