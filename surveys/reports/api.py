"""JSON reports of the feedback loop under /api/v1/reports."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("survey_reports_api", __name__)
