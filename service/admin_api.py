"""Admin and team-lead endpoints of the core: agent availability, failed jobs."""
from __future__ import annotations

from flask import Blueprint, current_app

from service import jobs
from service.api import current_user, doc, json_body
from service.auth.models import Role, User
from service.auth.permissions import Permission, require
from service.directory.services import set_availability, set_capacity
from service.errors import Forbidden, NotFound
from service.extensions import db
from service.schemas import AgentOut, AgentPatch, FailedJobsOut

blueprint = Blueprint("admin_api", __name__)
_agent_patch, _agent_out, _failed_out = AgentPatch(), AgentOut(), FailedJobsOut()


@blueprint.patch("/agents/<id:user_id>")
@doc("Set an agent's availability (self, lead, admin) or capacity (lead, admin)",
     tags=["directory"], body=AgentPatch, responses={200: AgentOut})
def patch_agent(user_id: int):
    actor = current_user()
    changes = json_body(_agent_patch)
    agent = db.session.get(User, user_id)
    if agent is None:
        raise NotFound("No such user.")
    managing = actor.role in (Role.ADMIN, Role.LEAD)
    if not managing and (agent.id != actor.id or "max_open_tickets" in changes):
        raise Forbidden("Only leads and admins change other agents or capacities.")
    if "availability" in changes:
        set_availability(agent, changes["availability"])
    if "max_open_tickets" in changes:
        set_capacity(agent, changes["max_open_tickets"])
    db.session.commit()
    return _agent_out.dump(agent)


@blueprint.get("/admin/jobs/failed")
@doc("Background jobs that exhausted their retries", tags=["admin"],
     responses={200: FailedJobsOut})
def failed_jobs():
    require(current_user(), Permission.ADMIN_JOBS)
    app = current_app._get_current_object()
    return _failed_out.dump({"items": jobs.failed_jobs(app),
                             "outbox_pending": jobs.outbox_depth()})
