"""Closed-loop resolution: resolve with a verification, then the customer's confirmation.

The loop, in one place:
- `resolve`: staff with ticket.resolve record the fix, its root cause and how it was
  verified; open cross-department tasks block it unless a lead (ticket.resolve_override)
  gives a reason. The ticket becomes `resolved` (its resolution clock stops) and the
  customer is asked to confirm, by mail and in the portal.
- `answer`: the customer confirms (→ closed, confirmed) or says it is still a problem
  (→ reopened, the clock resumes, assignee and lead are told); staff may record either
  from a phone call. Every answer is a Confirmation row with its evidence.
- tickets.resolution.sweep: one reminder at half-time, then closed as auto-confirmed.
- A reply after closing: within REOPEN_GRACE_DAYS it reopens the ticket
  (`reopen_after_close`); later it opens a follow-up ticket (intake's follow_up_of_id).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from service import jobs
from service.auth.models import User
from service.auth.permissions import Permission, can, require
from service.db_types import utcnow
from service.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from service.extensions import db
from service.validation import is_id, strip_controls
from tickets import lifecycle, timeline
from tickets.models import (ActorKind, Attachment, Channel, ClosedReason, SlaPolicy, Status,
                            Ticket)
from tickets.resolution import notices
from tickets.resolution.export import export_ticket as export_ticket  # re-exported
from tickets.resolution.models import (Confirmation, ConfirmationChannel, ConfirmationOutcome,
                                       ConfirmationState, Resolution)
from tickets.resolution.sweep import SweepResult as SweepResult  # re-exported
from tickets.resolution.sweep import sweep_confirmations as sweep_confirmations  # re-exported
from tickets.services import ensure_visible

TEXT_MAX = 10000  # summary, root cause, verification result and evidence note, comment
METHOD_MAX = 80
OVERRIDE_MAX = 1000
CALL_REFERENCE_MAX = 100
ATTACHMENTS_MAX = 20
USER_AGENT_MAX = 400
IP_MAX = 45
DEFAULT_CONFIRMATION_DAYS = 7

# The ticket channel a confirmation arrived by, for the timeline's channel column.
_TICKET_CHANNEL = {
    ConfirmationChannel.EMAIL_LINK: Channel.EMAIL.value,
    ConfirmationChannel.PORTAL: Channel.PORTAL.value,
    ConfirmationChannel.PHONE: Channel.PHONE.value,
    ConfirmationChannel.EMAIL_REPLY: Channel.EMAIL.value,
    ConfirmationChannel.SYSTEM: None,
}
# Channels where the customer answers in person (the others are staff or the system).
_CUSTOMER_CHANNELS = (ConfirmationChannel.EMAIL_LINK, ConfirmationChannel.PORTAL,
                      ConfirmationChannel.EMAIL_REPLY)


class TasksStillOpen(Conflict):
    """Open cross-department tasks block resolving (a lead may override with a reason)."""

    title, slug = "Tasks still open", "tasks-still-open"

    def __init__(self, tasks: Sequence[Any]):
        self.task_ids = [task.id for task in tasks]
        listed = "; ".join(f"#{task.id} {task.title} ({task.status})" for task in tasks)
        super().__init__(_("These tasks are still open: %(tasks)s. Finish or cancel them "
                           "first, or a lead may resolve anyway with an override reason.",
                           tasks=listed))


class AlreadyAnswered(Conflict):
    """The resolution is no longer waiting for an answer (answered, superseded, or stale)."""

    title, slug = "Already answered", "already-answered"

    def __init__(self, state: ConfirmationState | None):
        self.state = state
        super().__init__(_("This resolution is not waiting for an answer any more."))


# ---- reading ----

def current_resolution(ticket_id: int) -> Resolution | None:
    """The ticket's latest resolution, if it was ever resolved through one."""
    return db.session.scalar(select(Resolution).where(Resolution.ticket_id == ticket_id)
                             .order_by(Resolution.id.desc()).limit(1))


def resolutions_of(ticket_id: int) -> list[Resolution]:
    """Every resolution of the ticket, oldest first."""
    return list(db.session.scalars(select(Resolution).where(Resolution.ticket_id == ticket_id)
                                   .order_by(Resolution.id)))


def confirmation_days(ticket: Ticket) -> int:
    """Days the customer has to answer, from the ticket's SLA policy (default 7)."""
    policy = db.session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    days = policy.confirmation_days if policy is not None else None
    return days if days and days > 0 else DEFAULT_CONFIRMATION_DAYS


# ---- input checks ----

def _text(errors: dict[str, list[str]], field: str, value: Any, *, maximum: int,
          required: bool = False) -> str | None:
    """Trimmed text without control characters, or None when empty; problems go to errors."""
    if value is not None and not isinstance(value, str):
        errors[field] = [_("Must be text.")]
        return None
    text = strip_controls(value or "").strip()
    if required and not text:
        errors[field] = [_("This field is required.")]
    elif len(text) > maximum:
        errors[field] = [_("At most %(count)d characters.", count=maximum)]
    return text or None


def _evidence_attachments(errors: dict[str, list[str]], ticket_id: int,
                          attachment_ids: Any) -> list[int]:
    """The ids, when every one is a file of this ticket (another ticket's is never named)."""
    field = "verification.attachment_ids"
    if attachment_ids is not None and not isinstance(attachment_ids, (list, tuple)):
        errors[field] = [_("Give a list of attachment ids.")]
        return []
    ids = list(attachment_ids or ())
    if not all(is_id(value) for value in ids):
        errors[field] = [_("Give attachment ids (whole numbers).")]
        return []
    ids = list(dict.fromkeys(ids))
    if len(ids) > ATTACHMENTS_MAX:
        errors[field] = [_("At most %(count)d attachments.", count=ATTACHMENTS_MAX)]
        return []
    found = set(db.session.scalars(select(Attachment.id).where(
        Attachment.id.in_(ids), Attachment.ticket_id == ticket_id))) if ids else set()
    if found != set(ids):
        errors[field] = [_("Choose files attached to this ticket.")]
        return []
    return ids


def _lock(ticket_id: int) -> Ticket:
    # Row-locked and re-read: two answers (or an answer and the sweep) never both win.
    return db.session.scalar(select(Ticket).where(Ticket.id == ticket_id)
                             .with_for_update(of=Ticket)
                             .execution_options(populate_existing=True))


# ---- resolving ----

def resolve(user: User, ticket: Ticket, *, summary: str, root_cause: str, method: str,
            result: str, evidence_note: str | None = None, attachment_ids: Sequence[int] = (),
            override_reason: str | None = None, now: datetime | None = None) -> Resolution:
    """Resolve the ticket with its verification and ask the customer to confirm (commits).

    Raises NotFound (ticket not visible), Forbidden (no ticket.resolve; an override reason
    without ticket.resolve_override), InvalidInput (field → messages), InvalidTransition
    (the ticket cannot be resolved from its status) or TasksStillOpen.
    """
    ensure_visible(user, ticket.id)
    require(user, Permission.TICKET_RESOLVE)
    errors: dict[str, list[str]] = {}
    override = _text(errors, "override_reason", override_reason, maximum=OVERRIDE_MAX)
    if override is not None and not can(user, Permission.RESOLVE_OVERRIDE):
        raise Forbidden(_("Only a lead or an admin may resolve a ticket while tasks are "
                          "open."))
    fields = {
        "summary": _text(errors, "summary", summary, maximum=TEXT_MAX, required=True),
        "root_cause": _text(errors, "root_cause", root_cause, maximum=TEXT_MAX,
                            required=True),
        "verification_method": _text(errors, "verification.method", method,
                                     maximum=METHOD_MAX, required=True),
        "verification_result": _text(errors, "verification.result", result,
                                     maximum=TEXT_MAX, required=True),
        "evidence_note": _text(errors, "verification.evidence_note", evidence_note,
                               maximum=TEXT_MAX),
        "evidence_attachment_ids": _evidence_attachments(errors, ticket.id, attachment_ids),
    }
    if errors:
        raise InvalidInput(_("Some fields need attention."), errors=errors)
    ticket = _lock(ticket.id)
    if not lifecycle.can_transition(ticket.status, Status.RESOLVED):
        raise InvalidTransition(_("A %(status)s ticket cannot be resolved.",
                                  status=ticket.status.value))
    from tickets.tasks.services import active_tasks

    open_tasks = active_tasks(ticket.id)
    if open_tasks and override is None:
        raise TasksStillOpen(open_tasks)
    now = now or utcnow()
    days = confirmation_days(ticket)
    overridden = [task.id for task in open_tasks]
    resolution = Resolution(
        ticket_id=ticket.id, **fields, verified_by_id=user.id,
        # An override is kept only when it overrode something: the tasks it went past.
        override_reason=override if overridden else None, overridden_task_ids=overridden,
        created_at=now, state=ConfirmationState.PENDING,
        remind_at=now + timedelta(days=days) / 2, auto_close_at=now + timedelta(days=days))
    resolution.next_action_at = resolution.remind_at
    db.session.add(resolution)
    db.session.flush()
    lifecycle.change_status(ticket, Status.RESOLVED, actor=user, now=now)
    details: dict[str, Any] = {"resolution_id": resolution.id,
                               "method": resolution.verification_method}
    if overridden:
        details.update(override_reason=override, overridden_task_ids=overridden)
    timeline.record(ticket.id, "resolved", actor=user, at=now, **details)
    timeline.record(ticket.id, "confirmation_requested", at=now, resolution_id=resolution.id,
                    auto_close_at=resolution.auto_close_at.isoformat())
    from tickets.resolution import jobs as resolution_jobs

    jobs.enqueue(resolution_jobs.send_confirmation_request, resolution.id)
    db.session.commit()
    return resolution


# ---- the customer's answer ----

def answer(ticket: Ticket, outcome: ConfirmationOutcome, *, channel: ConfirmationChannel,
           contact_id: int | None = None, user: User | None = None, ip: str | None = None,
           user_agent: str | None = None, call_reference: str | None = None,
           comment: str | None = None, resolution_id: int | None = None,
           now: datetime | None = None) -> Confirmation:
    """Record the customer's answer to the pending resolution, with its evidence (commits).

    Confirmed closes the ticket (closed_reason confirmed); rejected needs a comment and
    reopens it. By phone, staff with confirmation.record give the call reference. Raises
    InvalidInput, Forbidden, NotFound or AlreadyAnswered (with `state`).
    """
    outcome = ConfirmationOutcome(outcome)
    channel = ConfirmationChannel(channel)
    errors: dict[str, list[str]] = {}
    if outcome == ConfirmationOutcome.AUTO_CONFIRMED or channel == ConfirmationChannel.SYSTEM:
        raise InvalidInput(errors={"outcome": [_("Only the customer's answer is recorded "
                                                 "here.")]})
    comment = _text(errors, "comment", comment, maximum=TEXT_MAX,
                    required=outcome == ConfirmationOutcome.REJECTED)
    if channel == ConfirmationChannel.PHONE:
        if user is None or not can(user, Permission.CONFIRMATION_RECORD):
            raise Forbidden(_("Your role may not record a customer's confirmation."))
        ensure_visible(user, ticket.id)
        call_reference = _text(errors, "call_reference", call_reference,
                               maximum=CALL_REFERENCE_MAX, required=True)
    elif contact_id is None:
        errors["contact_id"] = [_("The customer who answers must be known.")]
    if errors:
        raise InvalidInput(_("Some fields need attention."), errors=errors)
    ticket = _lock(ticket.id)
    resolution = current_resolution(ticket.id)
    if (resolution is None or resolution.state != ConfirmationState.PENDING
            or ticket.status != Status.RESOLVED
            or (resolution_id is not None and resolution.id != resolution_id)):
        # A stale link or page (an older resolution) counts as answered: it is.
        raise AlreadyAnswered(resolution.state if resolution is not None else None)
    confirmation = record_answer(
        ticket, resolution, outcome, channel=channel, contact_id=contact_id, user=user,
        ip=(ip or "")[:IP_MAX] or None, user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
        call_reference=call_reference if channel == ConfirmationChannel.PHONE else None,
        comment=comment, now=now or utcnow())
    db.session.commit()
    return confirmation


def record_answer(ticket: Ticket, resolution: Resolution, outcome: ConfirmationOutcome, *,
                  channel: ConfirmationChannel, contact_id: int | None = None,
                  user: User | None = None, ip: str | None = None,
                  user_agent: str | None = None, call_reference: str | None = None,
                  comment: str | None = None, now: datetime,
                  comment_is_message: bool = False) -> Confirmation:
    """Apply a checked answer to a locked, resolved ticket and its pending resolution.

    No commit and no input checks: `answer` does those; the inbound-mail path calls this
    directly. `comment_is_message`: the comment already is a message on the ticket (a mail
    reply), so it is not added again.
    """
    actor_kind = (ActorKind.STAFF if user is not None and channel == ConfirmationChannel.PHONE
                  else ActorKind.CUSTOMER if channel in _CUSTOMER_CHANNELS
                  else ActorKind.SYSTEM)
    confirmation = Confirmation(
        resolution_id=resolution.id, ticket_id=ticket.id, outcome=outcome, channel=channel,
        actor_kind=actor_kind, contact_id=contact_id,
        user_id=user.id if actor_kind == ActorKind.STAFF else None, ip_address=ip,
        user_agent=user_agent, call_reference=call_reference, comment=comment, created_at=now)
    db.session.add(confirmation)
    db.session.flush()
    # Settled before the status changes, so the listener sees an answer, not a bypass.
    resolution.state = ConfirmationState(outcome.value)
    resolution.answered_at = now
    resolution.next_action_at = None
    staff = user if actor_kind == ActorKind.STAFF else None
    who = {"actor": staff, "contact_id": None if staff else contact_id,
           "channel": _TICKET_CHANNEL[channel]}
    confirmed = outcome == ConfirmationOutcome.CONFIRMED
    if confirmed:
        lifecycle.change_status(ticket, Status.CLOSED, now=now,
                                closed_reason=ClosedReason.CONFIRMED,
                                reason="the customer confirmed the fix", **who)
    else:
        if comment and not comment_is_message:
            _keep_comment(ticket, comment, contact_id=contact_id, user=staff, now=now)
        lifecycle.change_status(ticket, Status.REOPENED, now=now,
                                reason="the customer says it is still a problem", **who)
    event = timeline.record(ticket.id, "customer_confirmed" if confirmed else "customer_rejected",
                            at=now, **who, resolution_id=resolution.id,
                            confirmation_id=confirmation.id)
    # The event's `channel` column is the ticket channel; its data names the exact one.
    event.data = {**event.data, "channel": channel.value}
    if not confirmed:
        notices.notify_reopened(ticket, confirmation, now=now,
                                       skip_user_id=staff.id if staff else None)
    return confirmation


def _keep_comment(ticket: Ticket, comment: str, *, contact_id: int | None, user: User | None,
                  now: datetime) -> None:
    """The customer's "still a problem" goes on the conversation: their message, or the
    note of the agent who took the call."""
    from tickets.conversation import add_customer_message, add_staff_message
    from tickets.models import Visibility

    if user is not None:
        add_staff_message(ticket, user, comment, Visibility.INTERNAL, now, channel=Channel.PHONE)
    elif contact_id is not None:
        add_customer_message(ticket, contact_id, comment, Channel.PORTAL, now)


def supersede_pending(ticket_id: int, now: datetime | None = None) -> Resolution | None:
    """The pending resolution of a ticket reopened some other way stops waiting (no commit)."""
    resolution = current_resolution(ticket_id)
    if resolution is None or resolution.state != ConfirmationState.PENDING:
        return None
    now = now or utcnow()
    resolution.state = ConfirmationState.SUPERSEDED
    resolution.next_action_at = None
    resolution.answered_at = now
    timeline.record(ticket_id, "confirmation_superseded", at=now, resolution_id=resolution.id)
    return resolution


# ---- after closing ----

def within_grace(ticket: Ticket, now: datetime | None = None) -> bool:
    """Whether the ticket closed recently enough that the customer's reply reopens it."""
    if ticket.closed_at is None:
        return False
    grace = timedelta(days=current_app.config["REOPEN_GRACE_DAYS"])
    return ticket.closed_at + grace > (now or utcnow())


def reopen_after_close(ticket: Ticket, *, contact_id: int | None,
                       channel: Channel | str | None, now: datetime | None = None) -> None:
    """Reopen a closed ticket because the customer wrote within the grace window (no commit).

    The only way out of `closed`; raises InvalidTransition when the ticket is not closed or
    the window is over (the caller opens a follow-up ticket instead).
    """
    now = now or utcnow()
    ticket = _lock(ticket.id)
    if ticket.status != Status.CLOSED or not within_grace(ticket, now):
        raise InvalidTransition(_("Only a ticket closed less than %(days)d days ago reopens.",
                                  days=current_app.config["REOPEN_GRACE_DAYS"]))
    closed_at, closed_reason = ticket.closed_at, ticket.closed_reason
    channel_value = channel.value if isinstance(channel, Channel) else channel
    lifecycle.change_status(ticket, Status.REOPENED, actor=None, contact_id=contact_id,
                            now=now, channel=channel_value,
                            reason="the customer wrote after the ticket was closed")
    timeline.record(ticket.id, "reopened_after_close", contact_id=contact_id,
                    channel=channel_value, at=now, closed_at=closed_at.isoformat(),
                    closed_reason=closed_reason.value if closed_reason else None)
