"""What the console's ticket page shows, gathered in a few queries, and the reply it posts.

- The timeline merges messages, events, attachments and calls (one query per kind, plus
  one per kind of name the events refer to) into entries, each event told as a sentence.
- Panels: later domains (tasks, resolution, knowledge base, surveys, opportunities) add
  theirs with `register_panel` and never edit the page's template.
- Event sentences: a domain with its own event kinds adds `register_event_sentence`.
- Reply drafts: a domain that fills the reply box from a link (`?kb_article=12`, the
  knowledge base inserting an article) adds `register_reply_draft`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from service.auth.models import User
from service.auth.permissions import Permission, can, require
from service.directory.models import Account, Contact, Team, team_members
from service.errors import Conflict, InvalidInput
from service.extensions import db
from service.templating import PRIORITY_LABELS, localtime
from service.validation import strip_controls
from tickets import attachments, conversation, lifecycle, routing, sla
from tickets.channels.phone.models import CallLog
from tickets.models import (Attachment, Channel, Message, SlaPause, SlaState, Status, Ticket,
                            TicketEvent, Visibility)
from tickets.services import visible_to
# Re-exported: the ticket page reads its labels from here.
from service.labels import SLA_STATE_LABELS as SLA_STATE_LABELS
from service.labels import STAFF_STATUS_LABELS as STAFF_STATUS_LABELS
from service.labels import TIER_LABELS as TIER_LABELS
from service.panels import PanelRegistry, ShownPanel

# ---- panels ----


_panels: PanelRegistry[Ticket] = PanelRegistry()


def register_panel(name: str, template: str,
                   context_fn: Callable[[User, Ticket], dict[str, Any] | None],
                   order: int = 100, *, column: str = "side") -> None:
    """Add a panel to every ticket page (see service.panels.PanelRegistry.register)."""
    _panels.register(name, template, context_fn, order, column=column)


def panels_for(user: User, ticket: Ticket) -> list[ShownPanel]:
    """The panels this user sees on this ticket, in order."""
    return _panels.shown(user, ticket)


# ---- reply drafts from other domains ----

@dataclass(frozen=True)
class ReplyDraft:
    """Text another domain puts in the reply box, and whether it is a public reply."""
    body: str
    visibility: str = "public"  # or "internal"


ReplyDraftFn = Callable[[User, Ticket, str], ReplyDraft | None]
_reply_drafts: dict[str, ReplyDraftFn] = {}


def register_reply_draft(query_arg: str, fn: ReplyDraftFn) -> None:
    """Fill the reply box when the page is opened with `?<query_arg>=<value>`: fn(user,
    ticket, value) returns the draft, or None when the value is not usable (ignored)."""
    _reply_drafts[query_arg] = fn


def reply_draft(user: User, ticket: Ticket, args: Any) -> ReplyDraft | None:
    """The first registered draft the page's query arguments ask for, if any."""
    for query_arg, fn in _reply_drafts.items():
        value = args.get(query_arg)
        if value:
            draft = fn(user, ticket, value)
            if draft is not None:
                return draft
    return None


# ---- names in the reader's language ----

def team_name(name: str | None, name_zh: str | None) -> str | None:
    """A team's name in the current language (its Chinese name when there is one)."""
    locale = get_locale()
    if name_zh and locale is not None and locale.language == "zh":
        return name_zh
    return name


# ---- timeline ----

# Events whose subject (a message or a call) is on the timeline itself.
_SHOWN_ELSEWHERE = {"reply_sent", "note_added", "customer_message", "call_logged"}
_KIND_RANK = {"message": 0, "call": 1, "attachment": 2, "event": 3}


@dataclass
class EventNames:
    """Names an event sentence may need, looked up once for the whole timeline."""
    users: dict[int, str] = field(default_factory=dict)
    teams: dict[int, str] = field(default_factory=dict)


@dataclass
class Entry:
    """One item of the timeline."""
    kind: str  # message, event, call, attachment
    at: datetime
    id: int
    message: Message | None = None
    attachments: list[Attachment] = field(default_factory=list)
    call: CallLog | None = None
    event: TicketEvent | None = None
    actor: str = ""
    sentence: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def internal(self) -> bool:
        return self.message is not None and self.message.visibility == Visibility.INTERNAL


def timeline(user: User, ticket: Ticket, *, newest_first: bool = False) -> list[Entry]:
    """The ticket's conversation and history, merged in time order."""
    internal = can(user, Permission.TICKET_VIEW_INTERNAL)
    messages = select(Message).where(Message.ticket_id == ticket.id).options(
        joinedload(Message.author_user), joinedload(Message.author_contact))
    # A task note's files live on the task's page, unless the note was published (then
    # they belong to its public message).
    files = select(Attachment).where(Attachment.ticket_id == ticket.id,
                                     Attachment.task_note_id.is_(None)
                                     | Attachment.message_id.is_not(None))
    if not internal:
        messages = messages.where(Message.visibility == Visibility.PUBLIC)
        files = files.where(Attachment.visibility == Visibility.PUBLIC)
    entries: dict[int, Entry] = {}
    for message in db.session.scalars(messages.order_by(Message.id)):
        entries[message.id] = Entry("message", message.created_at, message.id, message=message)
    loose: list[Entry] = []
    for file in db.session.scalars(files.order_by(Attachment.id)):
        holder = entries.get(file.message_id) if file.message_id else None
        if holder is not None:
            holder.attachments.append(file)
        elif file.message_id is None:
            loose.append(Entry("attachment", file.created_at, file.id, attachments=[file]))
    for call in db.session.scalars(select(CallLog).where(CallLog.ticket_id == ticket.id)
                                   .order_by(CallLog.id)):
        holder = entries.get(call.message_id) if call.message_id else None
        if holder is not None:
            holder.call = call
        elif call.message_id is None:
            loose.append(Entry("call", call.started_at, call.id, call=call))
        # A call whose message the reader may not see (an internal note) stays hidden too.
    result = list(entries.values()) + loose
    if internal:  # the timeline's events are internal, like notes
        result += _event_entries(ticket.id)
    result.sort(key=lambda entry: (entry.at, _KIND_RANK[entry.kind], entry.id),
                reverse=newest_first)
    return result


def _event_entries(ticket_id: int) -> list[Entry]:
    rows = db.session.execute(
        select(TicketEvent, User.name, Contact.name)
        .outerjoin(User, User.id == TicketEvent.actor_user_id)
        .outerjoin(Contact, Contact.id == TicketEvent.actor_contact_id)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind.not_in(_SHOWN_ELSEWHERE))
        .order_by(TicketEvent.id)).all()
    names = _names_for([row[0] for row in rows])
    entries = []
    for event, user_name, contact_name in rows:
        actor = _actor(event, user_name, contact_name)
        sentence, details = event_sentence(event, actor, names)
        entries.append(Entry("event", event.created_at, event.id, event=event, actor=actor,
                             sentence=sentence, details=details))
    return entries


def _actor(event: TicketEvent, user_name: str | None, contact_name: str | None) -> str:
    if event.actor_user_id is not None:
        return user_name or _("A staff member")
    if event.actor_contact_id is not None:
        return contact_name or _("The customer")
    return _("Loopdesk")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _names_for(events: list[TicketEvent]) -> EventNames:
    """The users and teams the events refer to, in one query each."""
    user_ids: set[int] = set()
    team_ids: set[int] = set()
    for event in events:
        data = event.data or {}
        for key in ("assignee_id", "previous_assignee_id", "escalated_to"):
            if _int(data.get(key)):
                user_ids.add(data[key])
        if event.kind == "team_changed":
            team_ids.update(value for value in (_int(data.get("from")), _int(data.get("to")))
                            if value)
        elif _int(data.get("team_id")):
            team_ids.add(data["team_id"])
    names = EventNames()
    if user_ids:
        names.users = dict(db.session.execute(select(User.id, User.name)
                                              .where(User.id.in_(user_ids))).all())
    if team_ids:
        names.teams = {row.id: team_name(row.name, row.name_zh) for row in db.session.execute(
            select(Team.id, Team.name, Team.name_zh).where(Team.id.in_(team_ids)))}
    return names


# ---- event sentences ----

SentenceFn = Callable[[TicketEvent, str, EventNames], "str | tuple[str, list[str]]"]
_sentences: dict[str, SentenceFn] = {}


def register_event_sentence(kind: str, fn: SentenceFn) -> None:
    """Teach the timeline to tell events of `kind`: fn(event, actor, names) returns the
    sentence, or (sentence, detail lines), translated in the current language."""
    _sentences[kind] = fn


def event_sentence(event: TicketEvent, actor: str,
                   names: EventNames | None = None) -> tuple[str, list[str]]:
    """A translated sentence (and detail lines) telling what the event did."""
    names = names or EventNames()
    fn = _sentences.get(event.kind)
    if fn is None:
        return _("%(actor)s: %(what)s", actor=actor, what=event.kind.replace("_", " ")), \
            _reason_lines(event.data or {})
    told = fn(event, actor, names)
    return told if isinstance(told, tuple) else (told, _reason_lines(event.data or {}))


def _reason_lines(data: dict) -> list[str]:
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason or reason in _QUIET_REASONS:
        return []
    return [_("Reason: %(reason)s", reason=reason_label(reason))]


# System reasons recorded by the services, in the reader's words; anything else is a
# reason a person wrote, shown as written.
def reason_label(reason: str) -> str:
    """A recorded reason in the reader's language (system reasons), else as written."""
    labels = {
        "first reply": _("first reply to the customer"),
        "customer replied": _("the customer replied"),
        "customer called": _("the customer called"),
        "customer reached by phone": _("the customer was reached by phone"),
        "waiting on customer": _("waiting on the customer"),
        "team changed": _("the team changed"),
        "task opened": _("a task for another department was opened"),
        "task reopened": _("a task for another department was reopened"),
        "tasks done": _("every task for other departments is finished"),
        "waiting on a department": _("still waiting on another department"),
        "the customer confirmed the fix": _("the customer confirmed the fix"),
        "the customer says it is still a problem": _("the customer says it is still a problem"),
        "the customer wrote after the ticket was closed":
            _("the customer wrote after the ticket was closed"),
        "no answer from the customer in time": _("no answer from the customer in time"),
        "the customer wrote that it is still a problem":
            _("the customer wrote that it is still a problem"),
    }
    return labels.get(reason, reason)


_QUIET_REASONS = {"auto", "manual"}


def _value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return _("(none)")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _status(value: Any) -> str:
    return str(STAFF_STATUS_LABELS.get(str(value), value)) if value else _("(none)")


def _priority(value: Any) -> str:
    return str(PRIORITY_LABELS.get(str(value), value)) if value else _("(none)")


def _target(value: Any) -> str:
    return _("first response") if value == "first_response" else _("resolution")


def _due(data: dict) -> str:
    try:
        return localtime(datetime.fromisoformat(str(data.get("due_at"))))
    except ValueError:
        return _("(unknown)")


def _created(event: TicketEvent, actor: str, names: EventNames):
    data = event.data or {}
    channel = channel_label(event.channel)
    if event.actor_user_id is None and event.actor_contact_id is None:
        sentence = _("The ticket was opened through %(channel)s.", channel=channel)
    else:
        sentence = _("%(actor)s opened the ticket through %(channel)s.", actor=actor,
                     channel=channel)
    details = []
    if data.get("priority"):
        details.append(_("Priority %(priority)s: %(why)s", priority=_priority(data["priority"]),
                         why=data.get("priority_reason") or ""))
    team = names.teams.get(_int(data.get("team_id")) or 0)
    if team and data.get("rule"):
        details.append(_("Routed to %(team)s by the rule “%(rule)s”.", team=team,
                         rule=data["rule"]))
    elif team:
        details.append(_("Routed to %(team)s.", team=team))
    return sentence, details


def _assigned(event: TicketEvent, actor: str, names: EventNames):
    data = event.data or {}
    assignee_id = _int(data.get("assignee_id"))
    assignee = names.users.get(assignee_id or 0, _("a former staff member"))
    if assignee_id is None:
        sentence = _("%(actor)s unassigned the ticket.", actor=actor)
    elif event.actor_user_id is None:
        sentence = _("The ticket was assigned automatically to %(assignee)s.", assignee=assignee)
    elif event.actor_user_id == assignee_id:
        sentence = _("%(actor)s took the ticket.", actor=actor)
    else:
        sentence = _("%(actor)s assigned the ticket to %(assignee)s.", actor=actor,
                     assignee=assignee)
    return sentence, _reason_lines(data)


def _change(label_fn: Callable[[Any], str], template: Any) -> SentenceFn:
    """A "from … to …" sentence; `template` is a lazy translation with actor, old, new."""
    def tell(event: TicketEvent, actor: str, names: EventNames) -> str:
        data = event.data or {}
        return str(template) % {"actor": actor, "old": label_fn(data.get("from")),
                                "new": label_fn(data.get("to"))}

    return tell


def _team_changed(event: TicketEvent, actor: str, names: EventNames) -> str:
    data = event.data or {}

    def label(value: Any) -> str:
        team_id = _int(value)
        return names.teams.get(team_id, _("(unknown)")) if team_id else _("no team")

    return _("%(actor)s moved the ticket from %(old)s to %(new)s.", actor=actor,
             old=label(data.get("from")), new=label(data.get("to")))


def _sla_warning(event: TicketEvent, actor: str, names: EventNames) -> str:
    data = event.data or {}
    return _("The %(target)s target is at risk (due %(due)s).", target=_target(data.get("target")),
             due=_due(data))


def _sla_breached(event: TicketEvent, actor: str, names: EventNames):
    data = event.data or {}
    details = []
    lead = _int(data.get("escalated_to"))
    if lead:
        details.append(_("Escalated to %(lead)s.", lead=names.users.get(lead, _("the lead"))))
    return _("The %(target)s target was breached (due %(due)s).",
             target=_target(data.get("target")), due=_due(data)), details


def _attachment_refused(event: TicketEvent, actor: str, names: EventNames) -> str:
    data = event.data or {}
    return _("The attachment %(filename)s (%(size)s) was not kept: it is larger than the "
             "size limit.", filename=data.get("filename") or "?",
             size=file_size(_int(data.get("size")) or 0))


_TEMPLATES = {
    "follow_up_of": lambda e, a, n: _("This ticket follows up %(number)s.",
                                      number=(e.data or {}).get("number") or "?"),
    "acknowledgement_skipped": lambda e, a, n: _(
        "No acknowledgement was sent: the message was sent automatically."),
    "mail_bounced": lambda e, a, n: _("Mail to %(recipients)s could not be delivered.",
                                      recipients=_value((e.data or {}).get("recipients"))),
    "chat_started": lambda e, a, n: _("%(actor)s started a chat.", actor=a),
    "chat_ended": lambda e, a, n: _("%(actor)s ended the chat.", actor=a),
    "chat_handed_off": lambda e, a, n: _(
        "Nobody answered the chat in time; the conversation goes on by email."),
    "reply_sent": lambda e, a, n: _("%(actor)s replied to the customer.", actor=a),
    "note_added": lambda e, a, n: _("%(actor)s added an internal note.", actor=a),
    "customer_message": lambda e, a, n: _("%(actor)s wrote.", actor=a),
    "call_logged": lambda e, a, n: _("%(actor)s logged a phone call.", actor=a),
}

register_event_sentence("created", _created)
register_event_sentence("assigned", _assigned)
register_event_sentence("status_changed", _change(
    _status, _l("%(actor)s changed the status from %(old)s to %(new)s.")))
register_event_sentence("priority_changed", _change(
    _priority, _l("%(actor)s changed the priority from %(old)s to %(new)s.")))
register_event_sentence("category_changed", _change(
    _value, _l("%(actor)s changed the category from %(old)s to %(new)s.")))
register_event_sentence("product_changed", _change(
    _value, _l("%(actor)s changed the product from %(old)s to %(new)s.")))
register_event_sentence("tags_changed", _change(
    _value, _l("%(actor)s changed the tags from %(old)s to %(new)s.")))
register_event_sentence("team_changed", _team_changed)
register_event_sentence("sla_warning", _sla_warning)
register_event_sentence("sla_breached", _sla_breached)
register_event_sentence("attachment_refused", _attachment_refused)
for _kind, _fn in _TEMPLATES.items():
    register_event_sentence(_kind, _fn)


# ---- labels ----

# Channel and availability as they read inside a sentence ("opened through the web form").
CHANNEL_LABELS = {
    "email": _l("email"), "web": _l("the web form"), "portal": _l("the portal"),
    "chat": _l("chat"), "phone": _l("phone"), "api": _l("the API"),
    "walk_in": _l("a visit in person"),
}
AVAILABILITY_LABELS = {"available": _l("available"), "away": _l("away"),
                       "out_of_office": _l("out of office")}
CALL_DIRECTION_LABELS = {"inbound": _l("Incoming call"), "outbound": _l("Outgoing call")}
CALL_OUTCOME_LABELS = {
    "answered": _l("answered"), "missed": _l("missed"), "voicemail": _l("voicemail"),
    "no_answer": _l("no answer"), "busy": _l("busy"), "failed": _l("failed"),
}


def channel_label(value: Any) -> str:
    """A channel in the reader's words."""
    return str(CHANNEL_LABELS.get(str(value), value or _("an unknown channel")))


def file_size(size: int) -> str:
    """A byte count for people: 512 B, 12.3 KB, 4.5 MB."""
    if size < 1024:
        return _("%(n)s B", n=size)
    if size < 1024 * 1024:
        return _("%(n)s KB", n=f"{size / 1024:.1f}")
    return _("%(n)s MB", n=f"{size / (1024 * 1024):.1f}")


def duration(seconds: int) -> str:
    """A call's length for people: 45 s, 3 min 5 s."""
    minutes, rest = divmod(max(seconds, 0), 60)
    if not minutes:
        return _("%(seconds)s s", seconds=rest)
    return _("%(minutes)s min %(seconds)s s", minutes=minutes, seconds=rest)


# ---- SLA ----

@dataclass(frozen=True)
class SlaView:
    """The ticket's SLA as the header shows it."""
    state: SlaState
    policy: str | None
    first_response_due_at: datetime | None
    first_responded_at: datetime | None
    resolution_due_at: datetime | None
    resolved_at: datetime | None
    paused_at: datetime | None
    pause_reason: str | None
    running_due_at: datetime | None  # the next deadline the clock runs toward, if any


def sla_view(ticket: Ticket, now: datetime) -> SlaView:
    """The live SLA state, the due times and, when paused, since when and why."""
    reason = None
    if ticket.sla_paused_at is not None:
        reason = db.session.scalar(select(SlaPause.reason).where(
            SlaPause.ticket_id == ticket.id, SlaPause.resumed_at.is_(None))
            .order_by(SlaPause.id.desc()).limit(1))
    running = None
    if ticket.sla_paused_at is None and ticket.status not in (Status.RESOLVED, Status.CLOSED):
        running = (ticket.first_response_due_at if ticket.first_responded_at is None
                   else ticket.resolution_due_at)
    return SlaView(sla.live_state(ticket, now), sla.policy_name(ticket),
                   ticket.first_response_due_at, ticket.first_responded_at,
                   ticket.resolution_due_at, ticket.resolved_at, ticket.sla_paused_at,
                   reason_label(reason) if reason else None, running)


# ---- customer ----

def customer_panel(user: User, ticket: Ticket) -> dict[str, Any] | None:
    """The customer, their account and their latest other tickets the user may see."""
    if not can(user, Permission.CUSTOMER_VIEW):
        return None
    contact = ticket.contact
    account_id = ticket.account_id or contact.account_id
    account = None
    if account_id is not None:
        account = db.session.scalar(select(Account).where(Account.id == account_id).options(
            selectinload(Account.products), joinedload(Account.sales_owner),
            joinedload(Account.dedicated_agent)))
    others = db.session.execute(
        select(Ticket.id, Ticket.subject, Ticket.status, Ticket.priority, Ticket.created_at)
        .where(Ticket.contact_id == contact.id, Ticket.id != ticket.id, visible_to(user))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(5)).all()
    return {"contact": contact, "account": account, "other_tickets": others}


register_panel("customer", "tickets/console/_ticket_customer.html", customer_panel, order=10)


# ---- changes and reassignment ----

def allowed_statuses(ticket: Ticket) -> list[Status]:
    """The statuses staff may move this ticket to by hand, in the flow's order.

    Never `resolved` (that takes the resolution form, with its verification) and nothing
    for a closed ticket (only the customer's reply in the grace window reopens it).
    """
    if ticket.status == Status.CLOSED:
        return []
    return [status for status in Status
            if status != Status.RESOLVED and lifecycle.can_transition(ticket.status, status)]


@dataclass(frozen=True)
class AgentOption:
    id: int
    name: str
    open_tickets: int
    max_open_tickets: int
    availability: str


@dataclass(frozen=True)
class TeamOption:
    id: int
    name: str
    agents: list[AgentOption]


def reassign_options() -> list[TeamOption]:
    """Every team with its active assignable agents, their load and availability."""
    teams = db.session.execute(select(Team.id, Team.name, Team.name_zh)
                               .order_by(Team.name, Team.id)).all()
    agents: dict[int, list[AgentOption]] = {}
    for row in db.session.execute(
            select(team_members.c.team_id, User.id, User.name, User.open_tickets,
                   User.max_open_tickets, User.availability)
            .join(User, User.id == team_members.c.user_id)
            .where(User.is_active.is_(True), User.role.in_(routing.ASSIGNABLE_ROLES))
            .order_by(User.name, User.id)):
        agents.setdefault(row.team_id, []).append(AgentOption(
            row.id, row.name, row.open_tickets, row.max_open_tickets, row.availability.value))
    return [TeamOption(team.id, team_name(team.name, team.name_zh) or "",
                       agents.get(team.id, [])) for team in teams]


def may_take(user: User, ticket: Ticket) -> bool:
    """Whether "Take it" applies: the user may update tickets and can hold one."""
    return (can(user, Permission.TICKET_UPDATE) and user.role in routing.ASSIGNABLE_ROLES
            and ticket.assignee_id != user.id and ticket.status != Status.CLOSED)


# ---- replying ----

BODY_MAX = 20000
MAX_UPLOADS = 5
TICKET_CLOSED = "The ticket is closed; open a new ticket instead."
BODY_REQUIRED = "Write the reply or note first."
BODY_TOO_LONG = f"The text is at most {BODY_MAX} characters."
TOO_MANY_FILES = f"Attach at most {MAX_UPLOADS} files."


@dataclass(frozen=True)
class Upload:
    """A file sent with a reply."""
    filename: str
    data: bytes
    content_type: str | None = None


class AttachmentTooLarge(InvalidInput):
    """One or more files exceed ATTACHMENT_MAX_BYTES; nothing was written."""

    def __init__(self, filenames: list[str], limit: int):
        super().__init__("An attachment is too large.",
                         errors={"attachments": [f"{name} is too large." for name in filenames]})
        self.filenames = filenames
        self.limit = limit


def post_reply(user: User, ticket: Ticket, body: str, visibility: Visibility,
               uploads: list[Upload], now: datetime) -> Message:
    """A public reply or an internal note with its files, all kept or none; commits.

    Public replies need ticket.reply, notes ticket.note; a closed ticket takes neither.
    Files keep the message's visibility (a note's files never reach the customer).
    """
    require(user, Permission.TICKET_REPLY if visibility == Visibility.PUBLIC
            else Permission.TICKET_NOTE)
    if ticket.status == Status.CLOSED:
        raise Conflict(TICKET_CLOSED)
    text = strip_controls(body or "").strip()
    errors: dict[str, list[str]] = {}
    if not text:
        errors["body"] = [BODY_REQUIRED]
    elif len(text) > BODY_MAX:
        errors["body"] = [BODY_TOO_LONG]
    if len(uploads) > MAX_UPLOADS:
        errors["attachments"] = [TOO_MANY_FILES]
    if errors:
        raise InvalidInput("The reply has invalid fields.", errors=errors)
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    too_large = [attachments.safe_filename(upload.filename) for upload in uploads
                 if len(upload.data) > limit]
    if too_large:
        raise AttachmentTooLarge(too_large, limit)
    message = conversation.add_staff_message(ticket, user, text, visibility, now,
                                             channel=Channel.WEB)
    for upload in uploads:
        stored = attachments.store(ticket.id, message.id, upload.filename, upload.data,
                                   upload.content_type, visibility=visibility)
        if isinstance(stored, attachments.Refused):  # the limit moved since the check
            raise AttachmentTooLarge([stored.filename], limit)
    db.session.commit()
    return message
