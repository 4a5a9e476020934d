"""Every survey-side subscriber to domain events (imported once by the app factory)."""
from __future__ import annotations

import importlib

# Each area keeps its own listeners; a module not written yet is simply not there.
_MODULES = ("surveys.csat_listeners", "surveys.recovery.listeners",
            "surveys.health.listeners", "surveys.signals.listeners",
            "surveys.opportunities.listeners", "surveys.revisits.listeners")

for _name in _MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as error:
        if error.name != _name:
            raise
