"""Ticket reports: each module registers its reports with service.reports.registry."""
from tickets.analytics import backlog, departments, intake, quality, sla, times  # noqa: F401
