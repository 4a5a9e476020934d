"""The public help centre at /help (written in this issue's help-centre part)."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("help_centre", __name__, url_prefix="/help", template_folder="templates")
