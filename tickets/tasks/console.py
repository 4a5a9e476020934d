"""Console pages of cross-department tasks: the department queue, a task's page, the ticket-page panels."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("tasks_console", __name__)
