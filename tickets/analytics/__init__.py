"""Ticket reports: each module registers its reports with service.reports.registry."""
from tickets.analytics import intake  # noqa: F401
