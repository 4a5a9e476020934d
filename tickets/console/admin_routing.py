"""Routing rules in the console: ordered list, edit, and a dry run."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice
from sqlalchemy import select

from service.auth.permissions import Permission
from service.console.access import staff_required
from service.directory.models import Team
from service.errors import InvalidInput
from service.extensions import db
from tickets import routing_admin
from service.labels import CHANNEL_LABELS, TIER_LABELS
from tickets.console.forms_admin import DryRunForm, RuleForm, apply_errors
from tickets.models import RoutingRule

blueprint = Blueprint("admin_routing", __name__, url_prefix="/console/admin/routing")
TEMPLATES = "tickets/console/admin/"
_TEXT_FIELDS = ("category", "product", "language", "keywords")


@blueprint.context_processor
def _helpers() -> dict:
    return {"channel_labels": CHANNEL_LABELS, "tier_labels": TIER_LABELS,
            "condition_fields": routing_admin.LIST_FIELDS}


@blueprint.get("")
@staff_required(Permission.ADMIN_ROUTING)
def rules():
    """The rules in the order they are tried, and the fallback team."""
    default_team = db.session.scalar(select(Team).where(Team.is_default.is_(True))
                                     .order_by(Team.id).limit(1))
    return render_template(TEMPLATES + "routing_rules.html", rules=routing_admin.list_rules(),
                           default_team=default_team)


@blueprint.post("/<id:rule_id>/move")
@staff_required(Permission.ADMIN_ROUTING)
def move(rule_id: int):
    """Move a rule one place up or down."""
    rule = routing_admin.get_rule(rule_id)
    try:
        moved = routing_admin.move_rule(rule, request.form.get("direction", ""))
    except InvalidInput:
        db.session.rollback()
        flash(_("Move a rule up or down."), "error")
        return redirect(url_for("admin_routing.rules"), code=303)
    db.session.commit()
    if moved:
        flash(_("Routing rule %(name)s moved.", name=rule.name), "success")
    else:
        flash(_("The rule is already at that end of the list."), "warning")
    return redirect(url_for("admin_routing.rules", _anchor=f"rule-{rule.id}"), code=303)


@blueprint.route("/new", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_ROUTING)
def new_rule():
    """Create a rule; it is tried after the existing ones."""
    return _save(RuleForm(), None)


@blueprint.route("/<id:rule_id>/edit", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_ROUTING)
def edit_rule(rule_id: int):
    """Edit a rule's name, conditions, team and required skills."""
    rule = routing_admin.get_rule(rule_id)
    form = RuleForm()
    if request.method == "GET":
        conditions = rule.conditions or {}
        form.name.data, form.is_active.data = rule.name, rule.is_active
        form.team_id.data, form.required_skills.data = rule.team_id, rule.required_skills
        form.channel.data, form.tier.data = conditions.get("channel"), conditions.get("tier")
        for name in _TEXT_FIELDS:
            separator = "\n" if name == "keywords" else ", "
            form[name].data = separator.join(conditions.get(name) or [])
    return _save(form, rule)


def _save(form: RuleForm, rule: RoutingRule | None):
    form.team_id.choices = [SelectChoice(str(key), name)
                            for key, name in routing_admin.team_choices()]
    form.required_skills.choices = [SelectChoice(name, name)
                                    for name in routing_admin.skill_names()]
    if request.method == "POST" and form.validate_on_submit():
        conditions = {name: routing_admin.split_values(form[name].data) for name in _TEXT_FIELDS}
        conditions.update(channel=list(form.channel.data or []), tier=list(form.tier.data or []))
        data = routing_admin.RuleInput(name=form.name.data or "", team_id=form.team_id.data,
                                       is_active=form.is_active.data, conditions=conditions,
                                       required_skills=list(form.required_skills.data or []))
        try:
            saved = routing_admin.save_rule(rule, data)
        except InvalidInput as error:
            db.session.rollback()
            apply_errors(form, error.errors)
        else:
            db.session.commit()
            flash(_("Routing rule %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("admin_routing.rules", _anchor=f"rule-{saved.id}"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template(TEMPLATES + "routing_rule_form.html", form=form, rule=rule), status


@blueprint.post("/<id:rule_id>/delete")
@staff_required(Permission.ADMIN_ROUTING)
def delete_rule(rule_id: int):
    """Delete a rule."""
    rule = routing_admin.get_rule(rule_id)
    name = rule.name
    routing_admin.delete_rule(rule)
    db.session.commit()
    flash(_("Routing rule %(name)s deleted.", name=name), "success")
    return redirect(url_for("admin_routing.rules"), code=303)


@blueprint.route("/dry-run", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_ROUTING)
def dry_run():
    """Show where a hypothetical ticket would go and who would get it, saving nothing."""
    form = DryRunForm()
    result, status = None, 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            data = routing_admin.DryRunInput(
                subject=form.subject.data or "", description=form.description.data or "",
                channel=form.channel.data, category=(form.category.data or "").strip() or None,
                product=(form.product.data or "").strip() or None,
                language=(form.language.data or "").strip() or None,
                customer_email=form.customer_email.data, tier=form.tier.data or None)
            try:
                result, status = routing_admin.dry_run(data), 200
            except InvalidInput as error:
                apply_errors(form, error.errors)
    return render_template(TEMPLATES + "routing_dry_run.html", form=form, result=result), status
