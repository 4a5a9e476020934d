"""Console pages of service-recovery follow-ups."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("recovery_console", __name__, url_prefix="/console/recovery", template_folder="../templates")
