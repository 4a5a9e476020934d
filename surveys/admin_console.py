"""Console pages for admins: survey settings and NPS campaigns."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("surveys_admin", __name__, url_prefix="/console/admin/surveys", template_folder="templates")
