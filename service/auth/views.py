"""Console sign-in, sign-out, password reset and the user's own profile."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("auth", __name__, url_prefix="/console", template_folder="templates")
