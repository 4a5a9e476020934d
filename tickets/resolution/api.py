"""JSON API of closed-loop resolution: resolve, record a confirmation, export the evidence."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from service.api import current_user, doc
from service.auth.permissions import Permission, can, require
from service.errors import DomainError, InvalidInput, NotFound, problem
from service.extensions import db
from tickets.resolution import services
from tickets.resolution.models import ConfirmationChannel, ConfirmationOutcome
from tickets.resolution.presenters import (present_confirmation, present_open_tasks,
                                           present_resolution, present_resolutions)
from tickets.resolution.schemas import (ConfirmationOut, PhoneConfirmationIn, ResolutionIn,
                                        ResolutionListOut, ResolutionOut, load_flat)
from tickets.services import get_ticket
from tickets.tasks.services import active_tasks

blueprint = Blueprint("resolution_api", __name__)

_resolution_in, _resolution_out = ResolutionIn(), ResolutionOut()
_resolution_list = ResolutionListOut()
_confirmation_in, _confirmation_out = PhoneConfirmationIn(), ConfirmationOut()
_EXPORT = {"type": "object", "description": "The ticket, its messages, timeline, tasks, "
           "resolutions and confirmations with their evidence.",
           "additionalProperties": True}


def _json_object() -> dict[str, Any]:
    if not request.is_json:
        raise InvalidInput("Send a JSON body with 'Content-Type: application/json'.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.")
    return data


def _problem(error: DomainError, **members: Any) -> Response:
    """The problem+json of `error` with extra members (RFC 9457 allows extensions)."""
    response = problem(error.status, error.title, error.detail, slug=error.slug,
                       errors=error.errors)
    response.set_data(current_app.json.dumps({**response.get_json(), **members}))
    return response


@blueprint.post("/tickets/<id:ticket_id>/resolution")
@doc("Resolve a ticket with a verified fix and ask the customer to confirm",
     tags=["resolution"], body=ResolutionIn, responses={201: ResolutionOut})
def resolve(ticket_id: int):
    user = current_user()
    require(user, Permission.TICKET_RESOLVE)
    data = load_flat(_resolution_in, _json_object())
    ticket = get_ticket(user, ticket_id, for_update=True)
    verification = data["verification"]
    try:
        resolution = services.resolve(
            user, ticket, summary=data["summary"], root_cause=data["root_cause"],
            method=verification["method"], result=verification["result"],
            evidence_note=verification.get("evidence_note"),
            attachment_ids=tuple(verification.get("attachment_ids", ())),
            override_reason=data.get("override_reason"))
    except services.TasksStillOpen as error:
        db.session.rollback()
        blocking = [task for task in active_tasks(ticket_id) if task.id in set(error.task_ids)]
        return _problem(error, open_tasks=present_open_tasks(blocking))
    return _resolution_out.dump(present_resolution(get_ticket(user, ticket_id),
                                                   resolution)), 201


@blueprint.get("/tickets/<id:ticket_id>/resolution")
@doc("The ticket's latest resolution and the state of its confirmation",
     tags=["resolution"], responses={200: ResolutionOut})
def latest(ticket_id: int):
    ticket = _internal_ticket(ticket_id)
    resolution = services.current_resolution(ticket.id)
    if resolution is None:
        raise NotFound("The ticket has not been resolved.")
    return _resolution_out.dump(present_resolution(ticket, resolution))


@blueprint.get("/tickets/<id:ticket_id>/resolutions")
@doc("Every resolution of the ticket, with the customer's answers",
     tags=["resolution"], responses={200: ResolutionListOut})
def history(ticket_id: int):
    ticket = _internal_ticket(ticket_id)
    items = present_resolutions(ticket, services.resolutions_of(ticket.id))
    return _resolution_list.dump({"items": items})


@blueprint.post("/tickets/<id:ticket_id>/confirmation")
@doc("Record the customer's answer received by phone (call reference required)",
     tags=["resolution"], body=PhoneConfirmationIn, responses={201: ConfirmationOut})
def record_phone_answer(ticket_id: int):
    user = current_user()
    require(user, Permission.CONFIRMATION_RECORD)
    data = load_flat(_confirmation_in, _json_object())
    ticket = get_ticket(user, ticket_id, for_update=True)
    confirmation = services.answer(
        ticket, ConfirmationOutcome(data["outcome"]), channel=ConfirmationChannel.PHONE,
        user=user, call_reference=data["call_reference"], comment=data.get("comment"))
    return _confirmation_out.dump(present_confirmation(confirmation)), 201


@blueprint.get("/tickets/<id:ticket_id>/export")
@doc("The ticket with its timeline and closed-loop evidence, as one JSON document",
     tags=["resolution"], responses={200: _EXPORT})
def export(ticket_id: int):
    ticket = _internal_ticket(ticket_id)
    return services.export_ticket(ticket)


def _internal_ticket(ticket_id: int):
    """A ticket the caller may see, read by staff only: partners never see the evidence."""
    user = current_user()
    ticket = get_ticket(user, ticket_id)
    if not can(user, Permission.TICKET_VIEW_INTERNAL):
        raise NotFound("No such ticket.")
    return ticket
