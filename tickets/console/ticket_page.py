"""The ticket page: header, timeline, reply box, changes, customer panel."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("ticket_page", __name__, url_prefix="/console/tickets", template_folder="templates")
