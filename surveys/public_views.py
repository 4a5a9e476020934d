"""Public survey pages: the one-click score, the rest of the answer, unsubscribe."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("survey_pages", __name__, url_prefix="/s", template_folder="templates")
