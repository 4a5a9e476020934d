"""Service quality: how often resolved tickets come back (reopen rate), how often a
customer comes back with the same kind of problem (repeat issues), and how many tickets
are complaints per active account (complaint rate). Definitions: docs/reports.md."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from sqlalchemy import false, func

from service.reports.engine import Metric
from service.reports.numbers import average, percent
from service.reports.query import Part, Slice, count_distinct, count_if, sum_if
from service.reports.registry import Column, Report, Unit, register
from service.reports.rollup import Rollup
from tickets.analytics.dimensions import (TICKET_DETAILS, TICKET_FILTERS, ticket_conditions,
                                          ticket_dimensions, tickets_with_accounts)
from tickets.facts import complaint_categories
from tickets.models import Ticket


def _ticket_part(moment: Any, measures: dict[str, Any], period: Slice, *extra: Any) -> Part:
    return Part(moment, measures, [*ticket_conditions(period), *extra],
                select_from=tickets_with_accounts(), ticket=Ticket.id)


# ---------------------------------------------------------------------------- reopen rate

def _reopen_parts(period: Slice) -> list[Part]:
    # resolved_at is the ticket's latest resolution (reopening clears it), reopen_count how
    # often it was reopened so far: see the docs for why these and not the timeline.
    return [_ticket_part(Ticket.resolved_at, {
        "resolved": count_if(),
        "reopened": count_if(Ticket.reopen_count > 0),
        "reopens": sum_if(Ticket.reopen_count, Ticket.reopen_count > 0),
    }, period)]


def _reopen_numbers(row: dict[str, Any]) -> dict[str, Any]:
    resolved, reopened = row.get("resolved") or 0, row.get("reopened") or 0
    return {"resolved": resolved, "reopened": reopened,
            "percent": percent(reopened, resolved), "reopens": int(row.get("reopens") or 0)}


class ReopenNumbers(Schema):
    resolved = fields.Integer(metadata={"description": "Tickets resolved in the period "
                                                       "(their latest resolution)."})
    reopened = fields.Integer(metadata={"description": "Of those, reopened at least once."})
    percent = fields.Float(allow_none=True, metadata={
        "description": "Reopen rate: reopened / resolved, in % (one decimal)."})
    reopens = fields.Integer(metadata={"description": "Reopens of those tickets in all."})


REOPEN_RATE = register(Report(
    name="reopen-rate",
    title=_l("Reopen rate"),
    description=_l("Of the tickets resolved in the period, how many had been reopened: "
                   "the fixes that did not hold the first time."),
    metric=Metric(_reopen_parts, ticket_dimensions(), _reopen_numbers,
                  rollup=Rollup("reopen-rate", details=TICKET_DETAILS)),
    numbers=ReopenNumbers,
    columns=(Column("percent", _l("Reopen rate"), Unit.PERCENT, drill="reopened",
                    better="down"),
             Column("resolved", _l("Resolved"), Unit.COUNT, drill="resolved"),
             Column("reopened", _l("Reopened"), Unit.COUNT, drill="reopened", better="down"),
             Column("reopens", _l("Reopens"), Unit.COUNT, drill="reopens", better="down")),
    filters=TICKET_FILTERS,
    order=50,
))


# ---------------------------------------------------------------------------- repeat issues

def _repeat_parts(period: Slice) -> list[Part]:
    return [_ticket_part(Ticket.created_at, {
        "tickets": count_if(),
        # Kept on the ticket by tickets.repeats (repeats_earlier_ticket() per ticket).
        "repeats": count_if(Ticket.is_repeat.is_(True)),
    }, period, Ticket.category.is_not(None), Ticket.category != "")]


def _repeat_numbers(row: dict[str, Any]) -> dict[str, Any]:
    tickets, repeats = row.get("tickets") or 0, row.get("repeats") or 0
    return {"tickets": tickets, "repeats": repeats, "percent": percent(repeats, tickets)}


class RepeatNumbers(Schema):
    tickets = fields.Integer(metadata={"description": "Tickets with a category created in "
                                                      "the period."})
    repeats = fields.Integer(metadata={
        "description": "Of those, tickets whose customer opened another ticket in the same "
                       "category within the 30 days before."})
    percent = fields.Float(allow_none=True, metadata={
        "description": "Repeat-issue rate: repeats / tickets, in % (one decimal)."})


REPEAT_ISSUES = register(Report(
    name="repeat-issues",
    title=_l("Repeat issues"),
    description=_l("Tickets created in the period whose customer had another ticket in the "
                   "same category within the 30 days before: which products and categories "
                   "bring customers back."),
    metric=Metric(_repeat_parts, ticket_dimensions(), _repeat_numbers,
                  rollup=Rollup("repeat-issues", details=TICKET_DETAILS)),
    numbers=RepeatNumbers,
    columns=(Column("percent", _l("Repeat-issue rate"), Unit.PERCENT, drill="repeats",
                    better="down"),
             Column("tickets", _l("Tickets with a category"), Unit.COUNT, drill="tickets"),
             Column("repeats", _l("Repeat issues"), Unit.COUNT, drill="repeats",
                    better="down")),
    filters=TICKET_FILTERS,
    order=60,
))


# ---------------------------------------------------------------------------- complaints

def is_complaint() -> Any:
    """SQL: the ticket's category is a complaint category (case-insensitive); none is
    when COMPLAINT_CATEGORIES is empty."""
    categories = complaint_categories()
    return func.lower(Ticket.category).in_(categories) if categories else false()


def _complaint_parts(period: Slice) -> list[Part]:
    complaint = is_complaint()
    return [_ticket_part(Ticket.created_at, {
        "tickets": count_if(),
        "complaints": count_if(complaint),
        "account_complaints": count_if(complaint, Ticket.account_id.is_not(None)),
        "active_accounts": count_distinct(Ticket.account_id),
    }, period)]


def _complaint_numbers(row: dict[str, Any]) -> dict[str, Any]:
    tickets, complaints = row.get("tickets") or 0, row.get("complaints") or 0
    of_accounts, accounts = row.get("account_complaints") or 0, row.get("active_accounts") or 0
    return {"tickets": tickets, "complaints": complaints, "account_complaints": of_accounts,
            "active_accounts": accounts, "per_account": average(of_accounts, accounts, 3),
            "complaints_percent": percent(complaints, tickets)}


class ComplaintNumbers(Schema):
    tickets = fields.Integer(metadata={"description": "Tickets created in the period."})
    complaints = fields.Integer(metadata={
        "description": "Of those, in a complaint category (COMPLAINT_CATEGORIES)."})
    account_complaints = fields.Integer(metadata={
        "description": "Of the complaints, those of a customer account."})
    active_accounts = fields.Integer(metadata={
        "description": "Accounts with at least one ticket created in the period."})
    per_account = fields.Float(allow_none=True, metadata={
        "description": "Complaint rate: account complaints / active accounts (3 decimals)."})
    complaints_percent = fields.Float(allow_none=True, metadata={
        "description": "Complaints / tickets, in % (one decimal)."})


COMPLAINTS = register(Report(
    name="complaints",
    title=_l("Complaint rate"),
    description=_l("Tickets in a complaint category created in the period, per account "
                   "that opened a ticket in the period, and as a share of all tickets."),
    metric=Metric(_complaint_parts, ticket_dimensions(), _complaint_numbers,
                  rollup=Rollup("complaints", details=TICKET_DETAILS)),
    numbers=ComplaintNumbers,
    columns=(Column("per_account", _l("Complaints per active account"), Unit.RATIO,
                    drill="account_complaints", better="down"),
             Column("complaints", _l("Complaints"), Unit.COUNT, drill="complaints",
                    better="down"),
             Column("active_accounts", _l("Active accounts"), Unit.COUNT,
                    drill="active_accounts"),
             Column("complaints_percent", _l("Complaints as a share of tickets"), Unit.PERCENT,
                    drill="complaints", better="down"),
             Column("tickets", _l("Tickets"), Unit.COUNT, drill="tickets")),
    filters=TICKET_FILTERS,
    order=70,
))
