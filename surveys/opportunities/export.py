"""The CRM export: one CSV row per opportunity, safe to open in Excel.

- UTF-8 with a byte-order mark, so Excel shows Chinese names correctly;
- a cell a spreadsheet would read as a formula gets a leading apostrophe
  (service.reports.export.safe_text), so a customer's words can never run as one.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select

from service.auth.models import User
from service.directory.models import Account, Contact
from service.extensions import db
from service.reports.export import safe_text
from surveys.models import Opportunity, OpportunityEvidence
from surveys.opportunities.history import console_url
from surveys.opportunities.links import absolute, evidence_paths

BOM = "\ufeff"
HEADER = ("id", "created_at", "status", "kind", "source", "account", "contact_name",
          "contact_email", "owner", "reason", "suggested_products", "estimated_value",
          "won_value", "lost_reason", "first_contact_due_at", "url", "evidence")
_CHUNK = 200  # rows looked up together (names, evidence): a few queries per chunk


def safe_cell(value: Any) -> str:
    """A cell's text, defused when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return safe_text(str(value))


def _names(model: Any, ids: set[int], *columns: Any) -> dict[int, tuple]:
    if not ids:
        return {}
    return {row[0]: tuple(row[1:]) for row in db.session.execute(
        select(model.id, *columns).where(model.id.in_(ids)))}


def _rows(chunk: list[Opportunity]) -> Iterator[list[str]]:
    accounts = _names(Account, {o.account_id for o in chunk if o.account_id}, Account.name)
    contacts = _names(Contact, {o.contact_id for o in chunk if o.contact_id}, Contact.name,
                      Contact.email)
    owners = _names(User, {o.owner_id for o in chunk if o.owner_id}, User.name)
    evidence: dict[int, list[OpportunityEvidence]] = {}
    for item in db.session.scalars(select(OpportunityEvidence).where(
            OpportunityEvidence.opportunity_id.in_([o.id for o in chunk]))
            .order_by(OpportunityEvidence.id)):
        evidence.setdefault(item.opportunity_id, []).append(item)
    paths = evidence_paths([item for items in evidence.values() for item in items])
    for opportunity in chunk:
        contact = contacts.get(opportunity.contact_id, (None, None))
        links = [absolute(paths.get((item.kind.value, item.ref_id)))
                 for item in evidence.get(opportunity.id, [])]
        values = (
            opportunity.id, opportunity.created_at, opportunity.status.value,
            opportunity.kind.value, opportunity.source.value,
            accounts.get(opportunity.account_id, (None,))[0], contact[0], contact[1],
            owners.get(opportunity.owner_id, (None,))[0], opportunity.reason,
            "; ".join(opportunity.suggested_products or []), opportunity.estimated_value,
            opportunity.won_value, opportunity.lost_reason, opportunity.first_contact_due_at,
            console_url(opportunity.id), " ".join(link for link in links if link))
        yield [safe_cell(value) for value in values]


def csv_lines(opportunities: Iterable[Opportunity]) -> Iterator[str]:
    """The CSV text, a chunk of lines at a time (BOM and header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    yield BOM + buffer.getvalue()
    chunk: list[Opportunity] = []
    for opportunity in opportunities:
        chunk.append(opportunity)
        if len(chunk) == _CHUNK:
            yield _write(chunk)
            chunk = []
    if chunk:
        yield _write(chunk)


def _write(chunk: list[Opportunity]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(_rows(chunk))
    return buffer.getvalue()


def export_csv(opportunities: Iterable[Opportunity]) -> str:
    """The whole CSV as one string."""
    return "".join(csv_lines(opportunities))
