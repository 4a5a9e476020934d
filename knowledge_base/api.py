"""JSON API of the knowledge base (written in this issue's API part)."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("kb_api", __name__)
