"""Panels other domains add to the contact and account pages (health, surveys,
opportunities, revisits…), so the directory never reads their tables."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from service.auth.models import User
from service.directory.models import Account, Contact


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: Callable[[User, Any], dict[str, Any] | None]
    order: int
    column: str  # "main" (under the tickets) or "side"


@dataclass(frozen=True)
class ShownPanel:
    name: str
    template: str
    column: str
    data: dict[str, Any]


_panels: dict[str, dict[str, Panel]] = {"contact": {}, "account": {}}


def register(page: str, name: str, template: str,
             context_fn: Callable[[User, Any], dict[str, Any] | None], order: int = 100, *,
             column: str = "side") -> None:
    """Add a panel to every contact (page="contact") or account (page="account") page.

    context_fn(user, contact_or_account) returns the template's `data`, or None to hide the
    panel; the template renders one `<section class="card">` with a heading.
    """
    if page not in _panels:
        raise ValueError("page is 'contact' or 'account'")
    if column not in ("side", "main"):
        raise ValueError("column is 'side' or 'main'")
    _panels[page][name] = Panel(name, template, context_fn, order, column)


def _shown(page: str, user: User, subject: Any) -> list[ShownPanel]:
    shown = []
    for panel in sorted(_panels[page].values(), key=lambda item: (item.order, item.name)):
        data = panel.context(user, subject)
        if data is not None:
            shown.append(ShownPanel(panel.name, panel.template, panel.column, data))
    return shown


def contact_panels(user: User, contact: Contact) -> list[ShownPanel]:
    """The panels this user sees on this contact's page, in order."""
    return _shown("contact", user, contact)


def account_panels(user: User, account: Account) -> list[ShownPanel]:
    """The panels this user sees on this account's page, in order."""
    return _shown("account", user, account)
