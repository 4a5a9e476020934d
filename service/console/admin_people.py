"""Admin pages: users and roles, teams and leads, skills, availability and capacity."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("admin_people", __name__, url_prefix="/console/admin", template_folder="templates")
