"""The sales inbox and opportunity pages."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("opportunities_console", __name__, url_prefix="/console/opportunities", template_folder="../templates")
