"""JSON API of the opportunity signal rules (admins)."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("signal_rules_api", __name__)
