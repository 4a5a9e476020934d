"""JSON API of cross-department tasks."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("tasks_api", __name__)
