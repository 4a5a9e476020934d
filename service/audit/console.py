"""The audit log's console page: search entries, newest first, page by page (admins)."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from service.audit.forms import AuditFilterForm
from service.audit.models import AuditEntry
from service.audit.search import search_entries
from service.auth.models import User
from service.auth.permissions import Permission
from service.console.access import staff_required
from service.errors import InvalidInput
from service.labels import ROLE_LABELS
from service.extensions import db
from service.templating import display_zone

blueprint = Blueprint("audit_console", __name__, url_prefix="/console/admin/audit",
                      template_folder="templates")

PAGE_SIZE = 50
ACTOR_KIND_LABELS = {"staff": _l("Console"), "api": _l("API"), "system": _l("System"),
                     "cli": _l("Command line")}
# Objects that have a console page: object type → (endpoint, its id argument).
OBJECT_PAGES = {
    "ticket": ("ticket_page.show", "ticket_id"),
    "user": ("admin_people.edit_user", "user_id"),
    "team": ("admin_people.edit_team", "team_id"),
    "sla_policy": ("admin_sla.edit_policy", "policy_id"),
    "business_calendar": ("admin_sla.edit_calendar", "calendar_id"),
    "routing_rule": ("admin_routing.edit_rule", "rule_id"),
    "canned_response": ("macros.edit", "macro_id"),
    "kb_article": ("kb_console.show", "article_id"),
    "kb_category": ("kb_console.edit_category", "category_id"),
    "contact": ("customers.contact", "contact_id"),
    "account": ("customers.account", "account_id"),
    "opportunity": ("opportunities_console.show", "opportunity_id"),
    "opportunity_rule": ("signal_rules_console.edit_rule", "rule_id"),
    "survey_campaign": ("surveys_admin.campaign", "campaign_id"),
}


def object_url(entry: AuditEntry) -> str | None:
    """The console page of the entry's object, when there is one (deleted ones 404)."""
    page = OBJECT_PAGES.get(entry.object_type or "")
    if page is None or not (entry.object_id or "").isdigit() or entry.action.endswith(".delete"):
        return None
    return url_for(page[0], **{page[1]: int(entry.object_id)})


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value) or "∅"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def change_lines(changes: dict | None) -> list[tuple[str, str, str]]:
    """(field, before, after) of each change, as short text."""
    lines = []
    for key, pair in sorted((changes or {}).items()):
        if isinstance(pair, list) and len(pair) == 2:
            lines.append((key, _shown(pair[0]), _shown(pair[1])))
        else:
            lines.append((key, "", _shown(pair)))
    return lines


def _actor_choices() -> list[tuple[str, str]]:
    users = db.session.execute(select(User.id, User.name, User.email).order_by(User.name, User.id))
    return [("", _("Anyone")), *((str(row.id), f"{row.name} <{row.email}>") for row in users)]


def _day_start(day) -> datetime:
    """Midnight of a day in the viewer's time zone."""
    return datetime.combine(day, time.min, tzinfo=display_zone())


def _args(**extra: Any) -> dict[str, Any]:
    """The current filters (and `extra`) as URL arguments, empty ones left out."""
    args = {name: request.args.get(name) for name in
            ("actor", "action", "object_type", "object_id", "since", "until", "q")}
    return {key: value for key, value in {**args, **extra}.items() if value}


@blueprint.get("/")
@staff_required(Permission.ADMIN_AUDIT)
def index():
    """Entries matching the filters, newest first; "older" follows the keyset cursor."""
    form = AuditFilterForm(request.args)
    form.actor.choices = _actor_choices()
    rows: list[AuditEntry] = []
    next_cursor = None
    error = None
    if form.validate():
        try:
            rows, next_cursor = search_entries(
                actor_id=int(form.actor.data) if form.actor.data else None,
                action=form.action.data or None, object_type=form.object_type.data or None,
                object_id=form.object_id.data or None,
                since=_day_start(form.since.data) if form.since.data else None,
                until=_day_start(form.until.data + timedelta(days=1))
                if form.until.data else None,
                q=form.q.data or None, limit=PAGE_SIZE, cursor=form.cursor.data or None)
        except InvalidInput:
            error = _("This page link is not valid any more.")
    status = 400 if (form.errors or error) else 200
    return render_template(
        "audit/index.html", form=form, entries=rows, error=error, object_url=object_url,
        change_lines=change_lines,
        kind_label=lambda kind: ACTOR_KIND_LABELS.get(kind, kind),
        role_label=lambda role: ROLE_LABELS.get(role, role),
        older_url=url_for(".index", **_args(cursor=next_cursor)) if next_cursor else None,
        newest_url=url_for(".index", **_args()) if form.cursor.data else None), \
        status, {"Cache-Control": "no-store"}
