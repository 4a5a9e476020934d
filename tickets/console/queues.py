"""Ticket queues: filters, search, sorting, keyset pages, saved views, bulk actions."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("queues", __name__, url_prefix="/console/tickets", template_folder="templates")
