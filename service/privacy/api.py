"""JSON API of customer export and erasure (written in issue 8's privacy part)."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("privacy_api", __name__)
