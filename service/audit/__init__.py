"""The audit log: who changed what, when and from where (append-only).

`from service import audit` then `audit.record(...)`, `audit.record_sign_in_failure(...)`
and `audit.register(...)`; the names load lazily so that importing the models (which the
app factory does first) pulls in nothing else.
"""
from __future__ import annotations

from typing import Any

_EXPORTS = {"record": "service.audit.recording", "record_sign_in_failure":
            "service.audit.recording", "register": "service.audit.registry",
            "register_path": "service.audit.registry"}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'service.audit' has no attribute {name!r}")
