"""Which models the audit log follows, and how each one's fields are written down.

A model is registered by import path, so a domain that is missing (or renamed) leaves the
log without it instead of breaking start-up. Secrets and customers' personal data are
written as "[redacted]"; long texts as "[changed]": the log says that they changed, never
what they hold.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
CHANGED = "[changed]"


@dataclass(frozen=True)
class Audited:
    """How one model is audited: its object type and what to hide, skip or summarise."""

    object_type: str
    redact: frozenset[str] = frozenset()  # secrets and personal data: "[redacted]"
    ignore: frozenset[str] = frozenset()  # bookkeeping columns, never written
    opaque: frozenset[str] = frozenset()  # long texts: "[changed]"
    only: frozenset[str] | None = None  # when given, the only columns written
    # Collections written as the sorted list of one attribute of their members
    # ({"teams": "name"}: a user's teams by name).
    collections: dict[str, str] = field(default_factory=dict)

    def follows(self, key: str) -> bool:
        """Whether the column `key` is written at all."""
        if key in self.ignore:
            return False
        return self.only is None or key in self.only


_REGISTRY: dict[type, Audited] = {}


def register(model: type, object_type: str, *, redact: tuple[str, ...] = (),
             ignore: tuple[str, ...] = (), opaque: tuple[str, ...] = (),
             only: tuple[str, ...] | None = None,
             collections: dict[str, str] | None = None) -> Audited:
    """Follow `model`'s creates, changes and deletes as `<object_type>.<action>` entries."""
    from service.audit.models import AuditEntry

    if model is AuditEntry:
        raise ValueError("the audit log does not audit itself")
    audited = Audited(object_type, frozenset(redact), frozenset(ignore), frozenset(opaque),
                      frozenset(only) if only is not None else None, dict(collections or {}))
    _REGISTRY[model] = audited
    return audited


def register_path(path: str, object_type: str, **options: Any) -> Audited | None:
    """`register` the model at "package.module:Class"; a missing one is logged, not fatal."""
    module_name, _, class_name = path.partition(":")
    try:
        model = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        log.warning("audit: model %s not found, not audited: %s", path, error)
        return None
    return register(model, object_type, **options)


def audited(model: type) -> Audited | None:
    """The audit settings of a model class, or None when it is not followed."""
    return _REGISTRY.get(model)


def registered() -> dict[type, Audited]:
    """Every followed model and its settings (a copy)."""
    return dict(_REGISTRY)


# Columns every domain keeps current by itself: a change to them alone is no staff action.
_BOOKKEEPING = ("created_at", "updated_at")


def register_defaults() -> None:
    """Follow the models whose changes staff make and admins need to trace."""
    people = (
        ("service.auth.models:User", "user", {
            "redact": ("password_hash",),
            "ignore": ("open_tickets", "open_load", "last_assigned_at", "notify_prefs",
                       *_BOOKKEEPING),
            "collections": {"teams": "name", "skills": "name"}}),
        ("service.auth.models:ApiToken", "api_token", {
            "redact": ("token_hash",), "ignore": ("last_used_at", *_BOOKKEEPING)}),
        ("service.directory.models:Team", "team", {
            "ignore": _BOOKKEEPING, "collections": {"members": "id"}}),
        ("service.directory.models:Skill", "skill", {}),
        ("tickets.models:SlaPolicy", "sla_policy", {}),
        ("tickets.models:BusinessCalendar", "business_calendar", {"ignore": _BOOKKEEPING}),
        ("tickets.models:CalendarDay", "calendar_day", {}),
        ("tickets.models:RoutingRule", "routing_rule", {}),
        ("tickets.models:Ticket", "ticket", {
            "only": ("subject", "status", "priority", "priority_reason", "team_id",
                     "assignee_id", "category", "product", "required_skills",
                     "closed_reason", "channel", "account_id", "language"),
            "opaque": ("subject", "priority_reason"),  # customers' and agents' words
            "collections": {"tag_rows": "tag"}}),
        ("tickets.models:CannedResponse", "canned_response", {
            "opaque": ("body",), "ignore": _BOOKKEEPING}),
        ("tickets.channels.email.models:Mailbox", "mailbox", {
            "redact": ("secret_hash", "imap_password_encrypted", "imap_username"),
            "ignore": ("last_polled_at", "last_poll_error", *_BOOKKEEPING)}),
        ("service.notify.webhooks.models:Webhook", "webhook", {
            "redact": ("secret_encrypted",),
            "ignore": ("consecutive_failures", *_BOOKKEEPING)}),
        ("surveys.models:SurveySettings", "survey_settings", {
            "ignore": ("updated_by_id", *_BOOKKEEPING)}),
        ("surveys.models:SurveyCampaign", "survey_campaign", {
            "ignore": ("cursor_contact_id", "targeted", "invited", "skipped", *_BOOKKEEPING)}),
        ("surveys.models:SignalRule", "opportunity_rule", {"ignore": _BOOKKEEPING}),
        ("surveys.models:Opportunity", "opportunity", {
            "opaque": ("reason", "lost_reason"), "ignore": _BOOKKEEPING}),
        ("knowledge_base.models:Article", "kb_article", {
            "opaque": ("body", "sections", "summary"),
            "ignore": ("view_count", "helpful_yes", "helpful_no", *_BOOKKEEPING),
            "collections": {"products": "product"}}),
        ("knowledge_base.models:Category", "kb_category", {
            "opaque": ("description_en", "description_zh"), "ignore": _BOOKKEEPING}),
        ("service.directory.models:Contact", "contact", {
            "redact": ("name", "email", "phone", "phone_normalized", "company")}),
        ("service.directory.models:Account", "account", {
            "ignore": _BOOKKEEPING,
            "collections": {"products": "product", "domains": "domain"}}),
    )
    for path, object_type, options in people:
        register_path(path, object_type, **options)
