"""How revisits read on the console's pages: labels, due states, the account's health."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from flask import url_for
from sqlalchemy import select
from werkzeug.routing import BuildError

from service.auth.models import User
from service.directory.models import Contact
from service.extensions import db
from service.templating import localtime
from tickets.models import format_number
from surveys.models import Revisit
from surveys.revisits import checklist as checklists
from surveys.revisits.forms import KIND_LABELS, SATISFACTION_LABELS, VIEW_LABELS

STATUS_LABELS = {"planned": _l("Planned"), "done": _l("Done"), "cancelled": _l("Cancelled")}
BAND_LABELS = {"healthy": _l("Healthy"), "watch": _l("Watch"), "at_risk": _l("At risk")}


def checklist_keys(revisit: Revisit) -> list[str]:
    """The revisit's checklist items, in order."""
    return checklists.item_keys(revisit.checklist)


def local(moment: datetime | None) -> str:
    """A UTC instant in the reader's zone."""
    return localtime(moment)


def health(account_id: int) -> dict[str, Any] | None:
    """The account's current health score and band, while account health is installed."""
    try:
        from surveys.health.services import current
    except ImportError:  # built by another part of the product; optional here
        return None
    found = current(account_id)
    if found is None:
        return None
    read = found.get if isinstance(found, dict) else (lambda key: getattr(found, key, None))
    score, band = read("score"), read("band")
    if score is None:
        return None
    band_text = str(band.value if hasattr(band, "value") else band) if band else None
    return {"score": score, "band": band_text,
            "band_label": BAND_LABELS.get(band_text or "", band_text)}


def people_names(revisit: Revisit) -> dict[str, str | None]:
    """The names of the revisit's owner, who did it and the contact spoken to (two queries)."""
    users = {row.id: row.name for row in db.session.execute(
        select(User.id, User.name).where(User.id.in_(
            [user_id for user_id in (revisit.owner_id, revisit.done_by_id) if user_id])))}
    contact = (db.session.scalar(select(Contact.name).where(Contact.id == revisit.contact_id))
               if revisit.contact_id else None)
    return {"owner": users.get(revisit.owner_id), "done_by": users.get(revisit.done_by_id),
            "contact": contact}


def opportunity_url(opportunity_id: int) -> str | None:
    """The opportunity's console page, while the opportunities console provides one."""
    try:
        return url_for("opportunities_console.show", opportunity_id=opportunity_id)
    except BuildError:
        return None


def is_overdue(revisit: Revisit, now: datetime) -> bool:
    """Whether a planned revisit is past its due time."""
    return revisit.status.value == "planned" and revisit.due_at < now


TEMPLATE_HELPERS: dict[str, Any] = {
    "revisit_status_label": lambda value: STATUS_LABELS.get(str(value), value),
    "revisit_item_label": checklists.label,
    "revisit_view_label": lambda value: VIEW_LABELS.get(str(value), value),
    "opportunity_kind_label": lambda value: KIND_LABELS.get(str(value), value),
    "satisfaction_label": lambda value: SATISFACTION_LABELS.get(str(value), value),
    "revisit_overdue": is_overdue,
    "revisit_ticket_number": format_number,
    "revisit_opportunity_url": opportunity_url,
}
