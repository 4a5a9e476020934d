"""The "Personal data" panel on the contact page (admins only): export and erase links."""
from __future__ import annotations

from typing import Any

from flask import current_app

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.directory import panels as directory_panels
from service.directory.models import Contact
from service.privacy.registry import is_erased_email


def contact_panel(user: User, contact: Contact) -> dict[str, Any] | None:
    """What the panel shows, or None for anyone but a privacy admin."""
    # Without the console blueprint (an app that did not register it) there is nowhere
    # for the links to go.
    if not can(user, Permission.ADMIN_PRIVACY) or "privacy_console" not in current_app.blueprints:
        return None
    return {"contact_id": contact.id, "erased": is_erased_email(contact.email)}


directory_panels.register("contact", "privacy", "privacy/_contact_panel.html", contact_panel,
                          order=900)
