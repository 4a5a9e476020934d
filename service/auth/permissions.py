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
    ADMIN_JOBS = "admin.jobs"
    ADMIN_MAIL = "admin.mail"  # inbound records, the outbound log (dev mailbox)
    ADMIN_MAILBOXES = "admin.mailboxes"  # mailboxes, their secrets and IMAP settings
    ADMIN_WEBHOOKS = "admin.webhooks"  # outbound webhooks, their secrets and deliveries


_ALL_STAFF = {Role.ADMIN, Role.LEAD, Role.AGENT, Role.DEPARTMENT, Role.SALES}
_SUPPORT = {Role.ADMIN, Role.LEAD, Role.AGENT}

ROLE_PERMISSIONS: dict[Permission, set[Role]] = {
    # Partners (integration tokens) create tickets and read only their own (visible_to).
    Permission.TICKET_CREATE: _SUPPORT | {Role.SALES, Role.PARTNER},
    Permission.TICKET_SET_PRIORITY: _SUPPORT,
    # Others see only the tickets of their own team (department) or accounts (sales).
    Permission.TICKET_VIEW_ALL: _SUPPORT,
    Permission.TICKET_UPDATE: _SUPPORT,
    Permission.TICKET_REPLY: _SUPPORT,
    Permission.TICKET_NOTE: _ALL_STAFF,
    Permission.TICKET_VIEW_INTERNAL: _ALL_STAFF,
    Permission.ADMIN_JOBS: {Role.ADMIN},
    Permission.ADMIN_MAIL: {Role.ADMIN},
    Permission.ADMIN_MAILBOXES: {Role.ADMIN},
    Permission.ADMIN_WEBHOOKS: {Role.ADMIN},
}


def can(user: User, permission: Permission) -> bool:
    """Whether the user's role grants the permission."""
    return user.is_active and user.role in ROLE_PERMISSIONS[permission]


def require(user: User, permission: Permission) -> None:
    """Raise Forbidden unless the user holds the permission."""
    if not can(user, permission):
        raise Forbidden(f"Your role ({user.role}) may not do this ({permission}).")
