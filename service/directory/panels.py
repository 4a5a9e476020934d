"""Panels other domains add to the contact and account pages (health, surveys,
opportunities, revisits…), so the directory never reads their tables."""
from __future__ import annotations

from typing import Any, Callable

from service.auth.models import User
from service.directory.models import Account, Contact
from service.panels import PanelRegistry, ShownPanel

_registries: dict[str, PanelRegistry] = {"contact": PanelRegistry[Contact](),
                                         "account": PanelRegistry[Account]()}


def register(page: str, name: str, template: str,
             context_fn: Callable[[User, Any], dict[str, Any] | None], order: int = 100, *,
             column: str = "side") -> None:
    """Add a panel to every contact (page="contact") or account (page="account") page."""
    if page not in _registries:
        raise ValueError("page is 'contact' or 'account'")
    _registries[page].register(name, template, context_fn, order, column=column)


def contact_panels(user: User, contact: Contact) -> list[ShownPanel]:
    """The panels this user sees on this contact's page, in order."""
    return _registries["contact"].shown(user, contact)


def account_panels(user: User, account: Account) -> list[ShownPanel]:
    """The panels this user sees on this account's page, in order."""
    return _registries["account"].shown(user, account)
