"""Routing rules in the console: ordered list, edit, and a dry run."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("admin_routing", __name__, url_prefix="/console/admin/routing", template_folder="templates")
