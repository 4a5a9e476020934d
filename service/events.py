"""Named domain events; other domains subscribe instead of reaching into our tables.

Each signal is sent with the ticket (or other) id as sender and keyword data. Receivers
run inside the sender's transaction, so whatever they write commits or rolls back with it.
"""
from blinker import Namespace

_signals = Namespace()

ticket_created = _signals.signal("ticket-created", doc="A ticket was opened by any channel.")
ticket_assigned = _signals.signal("ticket-assigned", doc="A ticket got a new assignee.")
ticket_status_changed = _signals.signal(
    "ticket-status-changed", doc="A ticket moved from one status to another.")
ticket_resolved = _signals.signal("ticket-resolved", doc="A ticket was resolved.")
ticket_closed = _signals.signal("ticket-closed", doc="A ticket was closed (surveys follow).")
ticket_field_changed = _signals.signal(
    "ticket-field-changed", doc="A ticket's team, category or tags changed (field, previous, "
                                "current).")
message_added = _signals.signal("message-added", doc="A message or note joined a ticket.")
ticket_priority_changed = _signals.signal(
    "ticket-priority-changed", doc="A ticket's priority was changed (SLA due times follow).")
sla_warning = _signals.signal("sla-warning", doc="An SLA target reached its warning point.")
sla_breached = _signals.signal("sla-breached", doc="An SLA target was breached.")
agent_became_available = _signals.signal(
    "agent-became-available", doc="An agent can take work again (back, capacity raised).")
survey_answered = _signals.signal(
    "survey-answered", doc="A customer answered (or changed) a survey (response id; first).")
recovery_closed = _signals.signal(
    "recovery-closed", doc="A service-recovery follow-up was done (follow-up id).")
opportunity_changed = _signals.signal(
    "opportunity-changed", doc="An opportunity was created or changed (id; created, fields).")
