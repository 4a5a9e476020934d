"""JSON API of surveys: responses, invitations, admin settings and campaigns."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("surveys_api", __name__)
