"""The customer portal's pages: sign-in, tickets, replies, confirmations."""
from __future__ import annotations

from tickets.portal import confirm_views, sign_in_views, ticket_views  # noqa: F401  (routes)
from tickets.portal.blueprint import blueprint

__all__ = ["blueprint"]
