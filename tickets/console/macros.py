"""Canned responses (macros): list, write, edit, delete."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("macros", __name__, url_prefix="/console/canned-responses", template_folder="templates")
