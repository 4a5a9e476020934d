"""Console actions of the knowledge base on a ticket (written in the tickets part)."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("kb_tickets", __name__, url_prefix="/console/kb/tickets",
                      template_folder="templates")
