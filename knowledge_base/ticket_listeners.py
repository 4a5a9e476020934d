"""Reactions to ticket events: "resolved with an article", and what customers asked.

- ticket_resolved: every used/linked article link of the ticket gets ticket_resolved_at
  (the first resolution after the link was made; a later one keeps it), in the sender's
  transaction.
- ticket_created from the web form or the portal: the subject is kept as a search with the
  number of public suggestions it gets, so the content-gap list shows what customers asked
  that no article answered. A search costs time, so it runs after the commit as a job, and
  a failure there is logged, never raised into ticket intake.
"""
from __future__ import annotations

import logging

from sqlalchemy import update

from service import events, jobs
from service.db_types import utcnow
from service.extensions import db
from knowledge_base.models import ArticleTicket, SearchSource
from knowledge_base.stats import SERVING_KINDS
from tickets import facts

log = logging.getLogger(__name__)

# Ticket channels whose subject is a customer's own question, and how the search is kept.
SEARCH_SOURCES = {"web": SearchSource.WEB_FORM, "portal": SearchSource.PORTAL}


def mark_resolved(ticket_id: int) -> int:
    """Stamp the ticket's used/linked links not yet stamped as resolved now; how many."""
    result = db.session.execute(
        update(ArticleTicket)
        .where(ArticleTicket.ticket_id == ticket_id, ArticleTicket.kind.in_(SERVING_KINDS),
               ArticleTicket.ticket_resolved_at.is_(None))
        .values(ticket_resolved_at=utcnow())
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


@events.ticket_resolved.connect
def _resolved(ticket_id: int, **_data) -> None:
    mark_resolved(ticket_id)


@events.ticket_created.connect
def _created(ticket_id: int, *, channel: str | None = None, **_data) -> None:
    if channel is not None and channel not in SEARCH_SOURCES:
        return  # the cheap case needs no job at all
    try:
        jobs.enqueue(record_ticket_subject, ticket_id)
    except Exception:  # never let the knowledge base break ticket intake
        log.exception("could not queue the subject search of ticket %s", ticket_id)


@jobs.job("default")
def record_ticket_subject(ticket_id: int) -> None:
    """Keep a web-form or portal ticket's subject as a search, with its suggestion count."""
    try:
        _record_subject(ticket_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        # A lost content-gap entry is not worth a retry storm; the ticket itself is safe.
        log.exception("could not record the subject search of ticket %s", ticket_id)


def _record_subject(ticket_id: int) -> None:
    from knowledge_base import search, searches

    ticket = facts.ticket_facts(ticket_id)
    if ticket is None or ticket.channel not in SEARCH_SOURCES:
        return
    language = searches.search_language(ticket.language)
    hits = search.suggest(ticket.subject, public_only=True, language=language)
    searches.record_search(ticket.subject, SEARCH_SOURCES[ticket.channel], language=language,
                           results=len(hits))
