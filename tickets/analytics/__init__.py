"""Ticket reports: each module registers its reports with service.reports.registry."""
from tickets.analytics import backlog, intake, sla, times  # noqa: F401
