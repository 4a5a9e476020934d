"""SLA policies and business calendars in the console."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("admin_sla", __name__, url_prefix="/console/admin", template_folder="templates")
