"""Console pages of the knowledge base's numbers, as a page and as JSON."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from flask import jsonify, request
from flask_babel import gettext as _

from knowledge_base import stats
from knowledge_base.console import blueprint
from knowledge_base.console.common import NO_STORE, render_page
from service.auth.permissions import Permission
from service.console.access import staff_required
from service.db_types import utcnow
from service.errors import InvalidInput

NUMBER_DAYS = (7, 30, 90, 365)


def _period() -> tuple[int, datetime, datetime]:
    raw = request.args.get("days", "30")
    # Compared as text: str.isdigit() would also take other scripts' digits ("٣٠").
    if raw not in {str(days) for days in NUMBER_DAYS}:
        raise InvalidInput(_("Choose 7, 30, 90 or 365 days."),
                           errors={"days": [_("Choose 7, 30, 90 or 365 days.")]})
    until = utcnow()
    return int(raw), until - timedelta(days=int(raw)), until


@blueprint.get("/numbers")
@staff_required(Permission.KB_STATS)
def numbers():
    """Views, helpfulness, deflections, tickets served, content gaps and review due."""
    days, since, until = _period()
    return render_page("numbers.html", days=days, choices=NUMBER_DAYS,
                       numbers=stats.numbers(since, until))


@blueprint.get("/numbers.json")
@staff_required(Permission.KB_STATS)
def numbers_json():
    """The same numbers as JSON, for the signed-in lead (the API needs a token)."""
    days, since, until = _period()
    body = {"days": days, **asdict(stats.numbers(since, until))}
    return jsonify(body), 200, NO_STORE
