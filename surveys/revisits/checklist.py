"""The revisit call's checklist: items stored by their English keys, shown translated."""
from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l

# Key → label. Keys are stored on each revisit, so renaming a label never rewrites history.
ITEMS: dict[str, object] = {
    "product_usage": _l("Product usage and adoption"),
    "open_issues": _l("Open issues and recent tickets"),
    "support_satisfaction": _l("Satisfaction with support"),
    "upcoming_needs": _l("Upcoming needs, plans and renewal"),
    "contact_changes": _l("Changes of contacts or decision makers"),
}


def default_checklist() -> list[dict]:
    """A new revisit's checklist: every item, none ticked yet."""
    return [{"item": key, "done": False} for key in ITEMS]


def item_keys(checklist: list[dict] | None) -> list[str]:
    """The items of a revisit's checklist, in order (the defaults when it has none)."""
    keys = [row.get("item") for row in checklist or [] if isinstance(row, dict)]
    return [key for key in keys if isinstance(key, str)] or list(ITEMS)


def ticked(checklist: list[dict], checked: Iterable[str]) -> list[dict]:
    """The checklist with exactly the `checked` items ticked (callers check the keys)."""
    chosen = set(checked)
    return [{"item": key, "done": key in chosen} for key in item_keys(checklist)]


def label(key: str) -> str:
    """An item's label in the reader's language (an unknown key is shown as stored)."""
    return str(ITEMS.get(key, key))
