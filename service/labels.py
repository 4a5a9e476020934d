"""Staff-facing names of enum values, defined once for every console page.

Keys are the enums' string values, so either a StrEnum member or its value looks one up.
Customer-facing wording stays in service.templating (STATUS_LABELS speaks to customers).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STAFF_STATUS_LABELS = {
    "new": _l("New"), "open": _l("Open"), "pending_customer": _l("Waiting on customer"),
    "pending_internal": _l("Waiting on other departments"), "resolved": _l("Resolved"),
    "reopened": _l("Reopened"), "closed": _l("Closed"),
}
SLA_STATE_LABELS = {
    "on_track": _l("On track"), "at_risk": _l("At risk"), "breached": _l("Breached"),
    "paused": _l("Paused"), "met": _l("Met"),
}
CHANNEL_LABELS = {
    "email": _l("Email"), "web": _l("Web form"), "portal": _l("Customer portal"),
    "chat": _l("Chat"), "phone": _l("Phone"), "api": _l("API"), "walk_in": _l("Walk-in"),
}
AVAILABILITY_LABELS = {
    "available": _l("Available"), "away": _l("Away"), "out_of_office": _l("Out of office"),
}
ROLE_LABELS = {
    "admin": _l("Administrator"), "lead": _l("Team lead"), "agent": _l("Agent"),
    "department": _l("Department member"), "sales": _l("Sales"),
    "partner": _l("Partner integration"),
}
TIER_LABELS = {"standard": _l("Standard"), "vip": _l("VIP")}
