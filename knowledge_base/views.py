"""Console pages of the knowledge base (written in this issue's console part)."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("kb_console", __name__, url_prefix="/console/kb",
                      template_folder="templates")
