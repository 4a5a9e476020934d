"""JSON API of closed-loop resolution: resolve, record a confirmation, export the evidence."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("resolution_api", __name__)
