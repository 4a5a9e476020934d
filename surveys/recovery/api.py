"""JSON API of service-recovery follow-ups."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("recovery_api", __name__)
