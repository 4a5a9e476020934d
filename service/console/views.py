"""The console's entry point: /console sends staff to their queue."""
from __future__ import annotations

from flask import Blueprint, redirect, url_for

from service.console.access import staff_required

blueprint = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")


@blueprint.get("/")
@staff_required()
def home():
    """Staff land on their own queue."""
    return redirect(url_for("queues.queue", queue="mine"))
