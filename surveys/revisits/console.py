"""Console pages of VIP revisits."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("revisits_console", __name__, url_prefix="/console/revisits", template_folder="../templates")
