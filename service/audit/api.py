"""JSON API of the audit log (written in issue 8's audit part)."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("audit_api", __name__)
