"""Console pages for customers (contacts) and accounts, and new tickets on their behalf."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("customers", __name__, url_prefix="/console", template_folder="templates")
