"""Console side of closed-loop resolution: the ticket-page panel, resolve and phone-confirmation forms."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("resolution_console", __name__)
