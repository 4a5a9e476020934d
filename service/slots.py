"""Slots: places on one domain's public pages where another domain shows something (the
knowledge base's article suggestions under a request form's subject), so the page's owner
never imports the other domain.

A page writes `{{ slot("request_form", source="web_form") }}`; a domain registers a template
for the slot, which is rendered there with the page's keyword arguments (nothing when no
domain registered one).
"""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

_slots: dict[str, list[str]] = {}


def register_slot(name: str, template: str) -> None:
    """Render `template` wherever a page shows the slot `name`."""
    templates = _slots.setdefault(name, [])
    if template not in templates:
        templates.append(template)


def render_slot(name: str, **context) -> Markup:
    """The slot's registered templates rendered with `context` (Markup; empty if none)."""
    return Markup("").join(Markup(render_template(template, **context))
                           for template in _slots.get(name, ()))
