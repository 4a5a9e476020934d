"""Prometheus metrics at /metrics (written in issue 8's observability part)."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("metrics", __name__)
