"""The customer portal's pages."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("portal", __name__)
