"""Where an opportunity's evidence can be read in the console: ticket, message, answer, call.

Paths are resolved in a few batched queries (one per evidence kind), so a page or a CSV of
many opportunities does not query per row.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from types import SimpleNamespace

from flask import current_app
from sqlalchemy import select

from service.extensions import db
from surveys.models import EvidenceKind, Revisit, SurveyResponse
from tickets.facts import message_facts

# Pages other parts of surveys may provide; the first that exists is used.
_RESPONSE_ENDPOINTS = ("surveys_console.response", "surveys_admin.response")
_REVISIT_ENDPOINTS = ("revisits_console.show", "revisits_console.revisit")


def _endpoint(names: tuple[str, ...], **values: Any) -> str | None:
    for name in names:
        if name in current_app.view_functions:
            # Bound here rather than url_for: jobs build webhook payloads outside requests.
            return current_app.url_map.bind("localhost").build(name, values)
    return None


def evidence_paths(items: Iterable[Any]) -> dict[tuple[str, int | None], str | None]:
    """{(kind, ref_id): console path or None} for evidence rows (or Evidence values)."""
    wanted: dict[EvidenceKind, set[int]] = {}
    for item in items:
        if item.ref_id is not None:
            wanted.setdefault(EvidenceKind(item.kind), set()).add(item.ref_id)
    paths: dict[tuple[str, int | None], str | None] = {}
    for ticket_id in wanted.get(EvidenceKind.TICKET, ()):
        paths[(EvidenceKind.TICKET.value, ticket_id)] = f"/console/tickets/{ticket_id}"
    for message_id in wanted.get(EvidenceKind.MESSAGE, ()):
        facts = message_facts(message_id)
        paths[(EvidenceKind.MESSAGE.value, message_id)] = (
            f"/console/tickets/{facts.ticket_id}#message-{message_id}" if facts else None)
    response_ids = wanted.get(EvidenceKind.SURVEY_RESPONSE)
    if response_ids:
        rows = db.session.execute(select(SurveyResponse.id, SurveyResponse.ticket_id,
                                         SurveyResponse.contact_id)
                                  .where(SurveyResponse.id.in_(response_ids)))
        for response_id, ticket_id, contact_id in rows:
            paths[(EvidenceKind.SURVEY_RESPONSE.value, response_id)] = (
                _endpoint(_RESPONSE_ENDPOINTS, response_id=response_id)
                or (f"/console/tickets/{ticket_id}" if ticket_id
                    else f"/console/customers/{contact_id}"))
    revisit_ids = wanted.get(EvidenceKind.REVISIT)
    if revisit_ids:
        rows = db.session.execute(select(Revisit.id, Revisit.account_id)
                                  .where(Revisit.id.in_(revisit_ids)))
        for revisit_id, account_id in rows:
            paths[(EvidenceKind.REVISIT.value, revisit_id)] = (
                _endpoint(_REVISIT_ENDPOINTS, revisit_id=revisit_id)
                or f"/console/accounts/{account_id}")
    return paths


def absolute(path: str | None) -> str | None:
    """A console path as an absolute URL (mails, CSV, webhooks)."""
    if path is None:
        return None
    return current_app.config["BASE_URL"].rstrip("/") + path


def evidence_url(kind: EvidenceKind | str, ref_id: int | None) -> str | None:
    """The absolute URL of one piece of evidence, or None (a note, or gone)."""
    item = SimpleNamespace(kind=kind, ref_id=ref_id)
    return absolute(evidence_paths([item]).get((EvidenceKind(kind).value, ref_id)))
