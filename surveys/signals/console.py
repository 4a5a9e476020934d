"""Console pages of the opportunity signal rules (admins)."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("signal_rules_console", __name__, url_prefix="/console/admin/opportunity-rules", template_folder="../templates")
