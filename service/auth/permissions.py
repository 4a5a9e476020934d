"""Who may do what: one table, one check that every API call and page goes through."""
from __future__ import annotations

import enum

from service.auth.models import Role, User
from service.errors import Forbidden


class Permission(enum.StrEnum):
    TICKET_CREATE = "ticket.create"
    TICKET_SET_PRIORITY = "ticket.set_priority"
    TICKET_VIEW_ALL = "ticket.view_all"
    TICKET_UPDATE = "ticket.update"
    TICKET_REPLY = "ticket.reply"
    TICKET_NOTE = "ticket.note"
    # Internal notes and the timeline: every staff role, never an integration partner.
    TICKET_VIEW_INTERNAL = "ticket.view_internal"
    # Reassign a ticket to another agent or team (anyone may take one for themselves).
    TICKET_ASSIGN = "ticket.assign"
    # Relax a ticket's SLA: lower its priority (always with a reason).
    SLA_OVERRIDE = "sla.override"
    # Hand work to a department from a ticket; work a task (its department's members, its
    # assignee, and the ticket's owners; see tickets.tasks.services).
    TASK_CREATE = "task.create"
    TASK_WORK = "task.work"
    # Resolve a ticket with a verified fix; override: resolve while tasks are still open.
    TICKET_RESOLVE = "ticket.resolve"
    RESOLVE_OVERRIDE = "ticket.resolve_override"
    # Record a customer's confirmation (or rejection) received by phone.
    CONFIRMATION_RECORD = "confirmation.record"
    # Survey answers and their numbers; admins: survey settings, campaigns, signal rules.
    SURVEY_VIEW = "survey.view"
    SURVEY_ADMIN = "survey.admin"
    # Work service-recovery follow-ups (team leads, and VIP accounts' account managers).
    RECOVERY_WORK = "recovery.work"
    # See and work opportunities (sales); open one by hand from a ticket or customer.
    OPPORTUNITY_WORK = "opportunity.work"
    OPPORTUNITY_CREATE = "opportunity.create"
    # VIP revisit calls: the account's support agent or account manager, and leads.
    REVISIT_WORK = "revisit.work"
    # Knowledge base: read every article (internal ones too); write drafts and send them
    # for review; publish, archive and edit published articles; manage categories; numbers.
    KB_VIEW = "kb.view"
    KB_WRITE = "kb.write"
    KB_PUBLISH = "kb.publish"
    KB_CATEGORIES = "kb.categories"
    KB_STATS = "kb.stats"
    CONSOLE = "console"  # sign in to the staff console
    DASHBOARD = "dashboard"
    CUSTOMER_VIEW = "customer.view"
    CUSTOMER_EDIT = "customer.edit"  # tier, owners, products, domains
    CANNED_SHARED = "canned.shared"  # shared and team canned responses
    AGENT_MANAGE = "agent.manage"  # others' availability and capacity
    ADMIN_USERS = "admin.users"  # users, roles, teams, leads, skills
    ADMIN_SLA = "admin.sla"  # SLA policies and business calendars
    ADMIN_ROUTING = "admin.routing"
    ADMIN_JOBS = "admin.jobs"
    ADMIN_MAIL = "admin.mail"  # inbound records, the outbound log (dev mailbox)
    ADMIN_MAILBOXES = "admin.mailboxes"  # mailboxes, their secrets and IMAP settings
    ADMIN_WEBHOOKS = "admin.webhooks"  # outbound webhooks, their secrets and deliveries
    ADMIN_AUDIT = "admin.audit"  # read and search the audit log of staff actions
    # A customer's data: export all of it, erase (anonymise) it on request.
    ADMIN_PRIVACY = "admin.privacy"


_ALL_STAFF = {Role.ADMIN, Role.LEAD, Role.AGENT, Role.DEPARTMENT, Role.SALES}
_SUPPORT = {Role.ADMIN, Role.LEAD, Role.AGENT}
_MANAGERS = {Role.ADMIN, Role.LEAD}

ROLE_PERMISSIONS: dict[Permission, set[Role]] = {
    # Partners (integration tokens) create tickets and read only their own (visible_to).
    Permission.TICKET_CREATE: _SUPPORT | {Role.SALES, Role.PARTNER},
    Permission.TICKET_SET_PRIORITY: _SUPPORT,
    # Every ticket, whatever its team; others see their teams' (see tickets.services).
    Permission.TICKET_VIEW_ALL: {Role.ADMIN},
    Permission.TICKET_UPDATE: _SUPPORT,
    Permission.TICKET_REPLY: _SUPPORT,
    Permission.TICKET_NOTE: _ALL_STAFF,
    Permission.TICKET_VIEW_INTERNAL: _ALL_STAFF,
    Permission.TICKET_ASSIGN: _MANAGERS,
    Permission.SLA_OVERRIDE: _MANAGERS,
    Permission.TASK_CREATE: _SUPPORT,
    Permission.TASK_WORK: _SUPPORT | {Role.DEPARTMENT},
    Permission.TICKET_RESOLVE: _SUPPORT,
    Permission.RESOLVE_OVERRIDE: _MANAGERS,
    Permission.CONFIRMATION_RECORD: _SUPPORT,
    Permission.SURVEY_VIEW: _MANAGERS | {Role.SALES},
    Permission.SURVEY_ADMIN: {Role.ADMIN},
    Permission.RECOVERY_WORK: _MANAGERS | {Role.SALES},
    Permission.OPPORTUNITY_WORK: _MANAGERS | {Role.SALES},
    Permission.OPPORTUNITY_CREATE: _SUPPORT | {Role.SALES},
    Permission.REVISIT_WORK: _SUPPORT | {Role.SALES},
    Permission.KB_VIEW: _ALL_STAFF,
    Permission.KB_WRITE: _SUPPORT,
    Permission.KB_PUBLISH: _MANAGERS,
    Permission.KB_CATEGORIES: _MANAGERS,
    Permission.KB_STATS: _MANAGERS,
    Permission.CONSOLE: _ALL_STAFF,
    Permission.DASHBOARD: _MANAGERS,
    Permission.CUSTOMER_VIEW: _SUPPORT | {Role.SALES},
    Permission.CUSTOMER_EDIT: _MANAGERS,
    Permission.CANNED_SHARED: _MANAGERS,
    Permission.AGENT_MANAGE: _MANAGERS,
    Permission.ADMIN_USERS: {Role.ADMIN},
    Permission.ADMIN_SLA: _MANAGERS,
    Permission.ADMIN_ROUTING: _MANAGERS,
    Permission.ADMIN_JOBS: {Role.ADMIN},
    Permission.ADMIN_MAIL: {Role.ADMIN},
    Permission.ADMIN_MAILBOXES: {Role.ADMIN},
    Permission.ADMIN_WEBHOOKS: {Role.ADMIN},
    Permission.ADMIN_AUDIT: {Role.ADMIN},
    Permission.ADMIN_PRIVACY: {Role.ADMIN},
}


def can(user: User, permission: Permission) -> bool:
    """Whether the user's role grants the permission."""
    return user.is_active and user.role in ROLE_PERMISSIONS[permission]


def require(user: User, permission: Permission) -> None:
    """Raise Forbidden unless the user holds the permission."""
    if not can(user, permission):
        raise Forbidden(f"Your role ({user.role}) may not do this ({permission}).")
