"""A detractor's comment that says the problem is not solved reopens the ticket it rates.

Within the reopen grace window the closed ticket is reopened (as a customer's late reply
would); after it, a follow-up ticket linked to the old one is opened through intake, once
per follow-up (an idempotency key), as the email channel does for a late reply.
"""
from __future__ import annotations

from datetime import datetime

from service.directory.models import Contact
from service.extensions import db
from surveys.models import RecoveryFollowUp, SurveyResponse
from tickets import facts, intake, timeline
from tickets.models import Channel, Ticket
from tickets.resolution import services as resolution
from tickets.still_a_problem import says_still_a_problem

# The survey page is a web page: the ticket's timeline says the customer wrote on the web.
SURVEY_CHANNEL = Channel.WEB
REOPENED, FOLLOW_UP_TICKET = "reopened", "follow_up_ticket"


def act_on_comment(follow_up: RecoveryFollowUp, response: SurveyResponse,
                   now: datetime) -> str | None:
    """Reopen (or follow up) the answer's closed ticket when its comment says the problem
    is not solved (no commit); returns what was done, or None."""
    if response.ticket_id is None or not says_still_a_problem(response.comment):
        return None
    ticket_facts = facts.ticket_facts(response.ticket_id)
    if ticket_facts is None or ticket_facts.status != "closed":
        return None  # open again already (or gone): nothing to reopen
    # reopen_after_close and within_grace take the ticket itself (they lock and read it).
    ticket = db.session.get(Ticket, response.ticket_id)
    if resolution.within_grace(ticket, now):
        resolution.reopen_after_close(ticket, contact_id=response.contact_id,
                                      channel=SURVEY_CHANNEL, now=now)
        action, new_ticket = REOPENED, None
    else:
        new_ticket = _follow_up_ticket(follow_up, response, ticket_facts)
        if new_ticket is None:
            return None
        action = FOLLOW_UP_TICKET
    timeline.record(response.ticket_id, "recovery_reopened", contact_id=response.contact_id,
                    channel=SURVEY_CHANNEL.value, at=now, recovery_id=follow_up.id,
                    action=action, ticket_id=new_ticket.id if new_ticket else None,
                    number=new_ticket.number if new_ticket else None)
    return action


def _follow_up_ticket(follow_up: RecoveryFollowUp, response: SurveyResponse,
                      old: facts.TicketFacts) -> Ticket | None:
    contact = db.session.get(Contact, response.contact_id)
    if contact is None:
        return None
    key = f"recovery:{follow_up.id}"
    result = intake.submit(intake.IntakeRequest(
        subject=old.subject[:200], description=response.comment or "", customer_email=None,
        channel=SURVEY_CHANNEL, contact=contact, language=old.language,
        category=old.category, product=old.product, follow_up_of_id=old.id,
        # One follow-up ticket per recovery, however often the comment is edited.
        idempotency_key=key, idempotency_scope="survey-recovery",
        fingerprint_source={"recovery_id": follow_up.id}), commit=False)
    return result.ticket if result.created else None
