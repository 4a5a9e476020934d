"""Console pages for admins: survey settings and NPS campaigns."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from service.auth.permissions import Permission
from service.console.access import console_user, staff_required
from service.errors import InvalidInput
from service.extensions import db
from surveys import campaigns as campaign_service
from surveys import settings_admin
from surveys import settings as survey_settings
from surveys.admin_forms import ActionForm, CampaignForm, SettingsForm, apply_errors
from surveys.models import CampaignStatus

blueprint = Blueprint("surveys_admin", __name__, url_prefix="/console/admin/surveys",
                      template_folder="templates")
TEMPLATES = "surveys/admin/"


def _see_other(endpoint: str, **values):
    return redirect(url_for(endpoint, **values), code=303)


@blueprint.route("/settings", methods=["GET", "POST"])
@staff_required(Permission.SURVEY_ADMIN)
def settings():
    """Every survey setting, grouped: CSAT, NPS, fatigue, recovery, opportunities, health."""
    current = survey_settings.current()
    form = SettingsForm()
    problems: list[str] = []
    if request.method == "GET":
        for name, value in settings_admin.as_dict(current).items():
            if name in form:
                form[name].data = value
    elif form.validate_on_submit():
        try:
            settings_admin.update_settings(console_user(), form.setting_values())
        except InvalidInput as error:
            db.session.rollback()
            problems = apply_errors(form, error.errors)
        else:
            db.session.commit()
            flash(_("Survey settings saved."), "success")
            return _see_other("surveys_admin.settings")
    status = 400 if request.method == "POST" else 200
    return render_template(TEMPLATES + "settings.html", form=form, groups=settings_admin.GROUPS,
                           problems=problems, settings=current), status


@blueprint.get("/campaigns")
@staff_required(Permission.SURVEY_ADMIN)
def campaigns():
    """The NPS campaigns, newest first, with their counters."""
    rows, next_cursor = campaign_service.list_campaigns(limit=50,
                                                        cursor=request.args.get("cursor"))
    return render_template(TEMPLATES + "campaigns.html", rows=rows, next_cursor=next_cursor)


@blueprint.route("/campaigns/new", methods=["GET", "POST"])
@staff_required(Permission.SURVEY_ADMIN)
def new_campaign():
    """A new campaign: name and segment, with a count of the contacts it matches."""
    form = CampaignForm()
    form.set_choices(campaign_service.product_choices(), campaign_service.owner_choices())
    problems: list[str] = []
    count = None
    previewing = request.form.get("action") == "preview"
    valid = request.method == "POST" and form.validate_on_submit()
    if request.method == "POST" and not valid and previewing \
            and set(form.errors) <= {"name"}:
        form.name.errors = []  # a count needs no name yet
        valid = True
    if valid:
        try:
            if previewing:
                count = campaign_service.preview(form.segment())
            else:
                campaign = campaign_service.create_campaign(console_user(), form.name.data,
                                                     form.segment())
        except InvalidInput as error:
            db.session.rollback()
            problems = apply_errors(form, error.errors)
        else:
            if not previewing:
                db.session.commit()
                flash(_("Campaign %(name)s saved as a draft.", name=campaign.name), "success")
                return _see_other("surveys_admin.campaign", campaign_id=campaign.id)
    failed = request.method == "POST" and (any(field.errors for field in form) or problems)
    return render_template(TEMPLATES + "campaign_form.html", form=form, problems=problems,
                           count=count), 400 if failed else 200


@blueprint.get("/campaigns/<id:campaign_id>")
@staff_required(Permission.SURVEY_ADMIN)
def campaign(campaign_id: int):
    """One campaign: its segment, counters and the start / cancel buttons."""
    found = campaign_service.get_campaign(campaign_id)
    return render_template(TEMPLATES + "campaign.html", campaign=found,
                           progress=campaign_service.progress(found),
                           skip_reasons=campaign_service.skip_reasons(found),
                           form=ActionForm(),
                           owners=dict(campaign_service.owner_choices()),
                           can_start=found.status in campaign_service.STARTABLE,
                           can_cancel=found.status in campaign_service.CANCELLABLE,
                           statuses=CampaignStatus)


@blueprint.post("/campaigns/<id:campaign_id>/start")
@staff_required(Permission.SURVEY_ADMIN)
def start(campaign_id: int):
    """Start a draft campaign (409 otherwise)."""
    found = campaign_service.get_campaign(campaign_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Please send it again."), "error")
        return _see_other("surveys_admin.campaign", campaign_id=campaign_id)
    campaign_service.start(found)
    db.session.commit()
    flash(_("Campaign started: its contacts are invited in batches."), "success")
    return _see_other("surveys_admin.campaign", campaign_id=campaign_id)


@blueprint.post("/campaigns/<id:campaign_id>/cancel")
@staff_required(Permission.SURVEY_ADMIN)
def cancel(campaign_id: int):
    """Cancel a draft or running campaign (409 when done or cancelled)."""
    found = campaign_service.get_campaign(campaign_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Please send it again."), "error")
        return _see_other("surveys_admin.campaign", campaign_id=campaign_id)
    skipped = campaign_service.cancel(found)
    db.session.commit()
    flash(_("Campaign cancelled; %(n)s invitations not sent yet were dropped.", n=skipped),
          "success")
    return _see_other("surveys_admin.campaign", campaign_id=campaign_id)
