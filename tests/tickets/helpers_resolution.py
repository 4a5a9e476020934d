"""Resolving a ticket in tests the way staff do: through the resolution, with a verification."""
from __future__ import annotations

from datetime import datetime

from service.auth.models import User
from tickets.models import Ticket
from tickets.resolution.models import Resolution

VERIFICATION = {"summary": "Replaced the worn fuser unit; test pages print clean.",
                "root_cause": "The fuser wore out after 200,000 pages.",
                "method": "reproduced", "result": "Ten test pages printed without smudges."}


def resolve_ticket(user: User, ticket: Ticket, *, now: datetime | None = None,
                   **overrides) -> Resolution:
    """Resolve `ticket` as `user` (who needs ticket.resolve) with a complete verification."""
    from tickets.resolution.services import resolve

    return resolve(user, ticket, **{**VERIFICATION, **overrides}, now=now)

