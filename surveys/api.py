"""JSON API of surveys: responses, invitations, admin settings and campaigns."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select

from service.api import current_user, doc, json_body, query_args
from service.auth.models import User
from service.auth.permissions import Permission, require
from service.extensions import db
from surveys import campaigns, response_queries, settings_admin
from surveys import settings as survey_settings
from surveys.campaigns import CampaignProgress
from surveys.models import Invitation, SurveyCampaign, SurveyResponse
from surveys.response_queries import Names
from surveys.schemas import (CampaignIn, CampaignOut, CampaignPageOut, CampaignPreviewIn,
                             CampaignPreviewOut, CampaignQuery, SurveyInvitationOut,
                             SurveyResponsePageOut, SurveyResponseQuery, SurveySettingsOut,
                             SurveySettingsPatch)
from tickets.models import format_number

blueprint = Blueprint("surveys_api", __name__)

_response_query, _response_page = SurveyResponseQuery(), SurveyResponsePageOut()
_invitation_out = SurveyInvitationOut()
_settings_patch, _settings_out = SurveySettingsPatch(), SurveySettingsOut()
_campaign_in, _campaign_out, _campaign_page = CampaignIn(), CampaignOut(), CampaignPageOut()
_campaign_query, _preview_in, _preview_out = CampaignQuery(), CampaignPreviewIn(), \
    CampaignPreviewOut()
_TAGS = ["surveys"]
_ADMIN_TAGS = ["survey admin"]


def _ref(names: dict[int, str], key: int | None) -> dict[str, Any] | None:
    return {"id": key, "name": names.get(key, "")} if key is not None else None


def _ticket(ticket_id: int | None) -> dict[str, Any] | None:
    return {"id": ticket_id, "number": format_number(ticket_id)} if ticket_id else None


def present_response(response: SurveyResponse, names: Names) -> dict[str, Any]:
    """The API view of an answer (never its invitation's token)."""
    return {
        "id": response.id, "invitation_id": response.invitation_id,
        "kind": response.kind.value, "score": response.score, "attitude": response.attitude,
        "efficiency": response.efficiency, "outcome": response.outcome,
        "comment": response.comment, "contact": _ref(names.contacts, response.contact_id),
        "account": _ref(names.accounts, response.account_id),
        "ticket": _ticket(response.ticket_id), "team": _ref(names.teams, response.team_id),
        "agent": _ref(names.users, response.agent_id), "product": response.product,
        "channel": response.channel, "created_at": response.created_at,
        "updated_at": response.updated_at, "edit_until": response.edit_until,
    }


def present_invitation(invitation: Invitation, names: Names) -> dict[str, Any]:
    """The API view of an invitation (never its token or the token's hash)."""
    return {
        "id": invitation.id, "kind": invitation.kind.value,
        "trigger": invitation.trigger.value, "status": invitation.status.value,
        "skip_reason": invitation.skip_reason,
        "contact": _ref(names.contacts, invitation.contact_id),
        "account": _ref(names.accounts, invitation.account_id),
        "ticket": _ticket(invitation.ticket_id), "campaign_id": invitation.campaign_id,
        "send_at": invitation.send_at, "sent_at": invitation.sent_at,
        "opened_at": invitation.opened_at, "answered_at": invitation.answered_at,
        "expires_at": invitation.expires_at,
        "response_id": response_queries.response_id_of(invitation.id),
    }


def present_campaigns(rows: list[SurveyCampaign]) -> list[dict[str, Any]]:
    """The API views of campaigns with their progress (a few queries for the whole list)."""
    progress = campaigns.progress_of(rows)
    creator_ids = {row.created_by_id for row in rows if row.created_by_id}
    creators = dict(db.session.execute(select(User.id, User.name)
                                       .where(User.id.in_(creator_ids))).all()) \
        if creator_ids else {}
    return [present_campaign(row, progress[row.id], creators) for row in rows]


def present_campaign(campaign: SurveyCampaign, progress: CampaignProgress | None = None,
                     creators: dict[int, str] | None = None) -> dict[str, Any]:
    """The API view of a campaign with its progress."""
    if progress is None or creators is None:
        return present_campaigns([campaign])[0]
    creator_id = campaign.created_by_id
    return {
        "id": campaign.id, "name": campaign.name, "kind": campaign.kind.value,
        "status": campaign.status.value, "segment": campaign.segment or {},
        "targeted": progress.targeted, "invited": progress.invited,
        "skipped": progress.skipped, "sent": progress.sent, "opened": progress.opened,
        "answered": progress.answered,
        "created_by": _ref(creators, creator_id) if creator_id in creators else None,
        "created_at": campaign.created_at, "started_at": campaign.started_at,
        "finished_at": campaign.finished_at,
    }


# ---- answers and invitations ----

@blueprint.get("/surveys/responses")
@doc("Survey answers, newest first, by kind, score range, team, agent, account, product and "
     "period (keyset pages)", tags=_TAGS, query=SurveyResponseQuery,
     responses={200: SurveyResponsePageOut})
def list_responses():
    require(current_user(), Permission.SURVEY_VIEW)
    filters = query_args(_response_query)
    rows, next_cursor = response_queries.list_responses(
        kind=filters.get("kind"), score_min=filters.get("score_min"),
        score_max=filters.get("score_max"), team_id=filters.get("team"),
        agent_id=filters.get("agent"), account_id=filters.get("account"),
        product=filters.get("product"), since=filters.get("since"),
        until=filters.get("until"), limit=filters["limit"], cursor=filters.get("cursor"))
    names = response_queries.names_for(rows)
    return _response_page.dump({"items": [present_response(row, names) for row in rows],
                                "next_cursor": next_cursor})


@blueprint.get("/surveys/invitations/<id:invitation_id>")
@doc("One survey invitation: what was sent to whom, when, and what became of it",
     tags=_TAGS, responses={200: SurveyInvitationOut})
def get_invitation(invitation_id: int):
    require(current_user(), Permission.SURVEY_VIEW)
    invitation = response_queries.get_invitation(invitation_id)
    return _invitation_out.dump(present_invitation(
        invitation, response_queries.names_for([invitation])))


# ---- settings ----

@blueprint.get("/admin/surveys/settings")
@doc("The survey, recovery, health and opportunity settings", tags=_ADMIN_TAGS,
     responses={200: SurveySettingsOut})
def get_settings():
    require(current_user(), Permission.SURVEY_ADMIN)
    return _settings_out.dump(settings_admin.as_dict(survey_settings.current()))


@blueprint.patch("/admin/surveys/settings")
@doc("Change some of the survey settings (each within its bounds)", tags=_ADMIN_TAGS,
     body=SurveySettingsPatch, responses={200: SurveySettingsOut})
def patch_settings():
    user = current_user()
    require(user, Permission.SURVEY_ADMIN)
    changes = json_body(_settings_patch)
    settings = settings_admin.update_settings(user, changes)
    db.session.commit()
    return _settings_out.dump(settings_admin.as_dict(settings))


# ---- campaigns ----

@blueprint.get("/admin/surveys/campaigns")
@doc("NPS campaigns, newest first (keyset pages)", tags=_ADMIN_TAGS, query=CampaignQuery,
     responses={200: CampaignPageOut})
def list_campaigns():
    require(current_user(), Permission.SURVEY_ADMIN)
    args = query_args(_campaign_query)
    rows, next_cursor = campaigns.list_campaigns(args["limit"], args.get("cursor"))
    return _campaign_page.dump({"items": present_campaigns(rows),
                                "next_cursor": next_cursor})


@blueprint.post("/admin/surveys/campaigns")
@doc("Create a draft NPS campaign for a segment", tags=_ADMIN_TAGS, body=CampaignIn,
     responses={201: CampaignOut})
def create_campaign():
    user = current_user()
    require(user, Permission.SURVEY_ADMIN)
    data = json_body(_campaign_in)
    campaign = campaigns.create_campaign(user, data["name"], data["segment"])
    db.session.commit()
    return _campaign_out.dump(present_campaign(campaign)), 201


@blueprint.post("/admin/surveys/campaigns/preview")
@doc("How many contacts a segment matches now", tags=_ADMIN_TAGS, body=CampaignPreviewIn,
     responses={200: CampaignPreviewOut})
def preview_campaign():
    require(current_user(), Permission.SURVEY_ADMIN)
    data = json_body(_preview_in)
    return _preview_out.dump({"count": campaigns.preview(data["segment"])})


@blueprint.get("/admin/surveys/campaigns/<id:campaign_id>")
@doc("One campaign with its counters", tags=_ADMIN_TAGS, responses={200: CampaignOut})
def get_campaign(campaign_id: int):
    require(current_user(), Permission.SURVEY_ADMIN)
    return _campaign_out.dump(present_campaign(campaigns.get_campaign(campaign_id)))


@blueprint.post("/admin/surveys/campaigns/<id:campaign_id>/start")
@doc("Start a draft campaign: its batches are invited by jobs (409 unless draft)",
     tags=_ADMIN_TAGS, responses={200: CampaignOut})
def start_campaign(campaign_id: int):
    require(current_user(), Permission.SURVEY_ADMIN)
    campaigns.start(campaigns.get_campaign(campaign_id))
    db.session.commit()
    return _campaign_out.dump(present_campaign(campaigns.get_campaign(campaign_id)))


@blueprint.post("/admin/surveys/campaigns/<id:campaign_id>/cancel")
@doc("Cancel a draft or running campaign; invitations not sent yet are skipped "
     "(409 when done or cancelled)", tags=_ADMIN_TAGS, responses={200: CampaignOut})
def cancel_campaign(campaign_id: int):
    require(current_user(), Permission.SURVEY_ADMIN)
    campaigns.cancel(campaigns.get_campaign(campaign_id))
    db.session.commit()
    return _campaign_out.dump(present_campaign(campaigns.get_campaign(campaign_id)))
