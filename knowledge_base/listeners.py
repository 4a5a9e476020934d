"""Every knowledge-base subscriber and registration with other domains' pages (imported
once by the app factory): ticket events, the ticket page's panel and reply drafts, the
request forms' suggestion slot, the leads' dashboard section."""
from __future__ import annotations

import importlib

_MODULES = ("knowledge_base.ticket_listeners", "knowledge_base.ticket_panel",
            "knowledge_base.suggest_slot", "knowledge_base.dashboard")

for _name in _MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as error:
        if error.name != _name:
            raise
