"""The leads' dashboard: backlog, SLA compliance, response times, load, channels."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("dashboard", __name__, url_prefix="/console/dashboard", template_folder="templates")
