"""JSON API of opportunities."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("opportunities_api", __name__)
