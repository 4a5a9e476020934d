"""The audit log's console page (written in issue 8's audit part)."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("audit_console", __name__, url_prefix="/console/admin/audit",
                      template_folder="templates")
