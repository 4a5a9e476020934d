"""Admin pages: failed background jobs, stored outbound mail, inbound mail records."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("admin_system", __name__, url_prefix="/console/admin", template_folder="templates")
