"""Console pages of the opportunity signal rules (admins): list, edit, enable, try a text."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from service.auth.permissions import Permission
from service.console.access import staff_required
from service.errors import Conflict, InvalidInput
from service.extensions import db
from surveys.models import SignalRule
from surveys.opportunities.labels import KIND_LABELS
from surveys.signals import rules
from surveys.signals.forms import LANGUAGE_LABELS, RuleForm, TryForm

blueprint = Blueprint("signal_rules_console", __name__,
                      url_prefix="/console/admin/opportunity-rules",
                      template_folder="../templates")
TEMPLATES = "surveys/rules/"


@blueprint.context_processor
def _helpers() -> dict:
    return {"kind_labels": {kind.value: label for kind, label in KIND_LABELS.items()},
            "language_labels": LANGUAGE_LABELS}


def _list_page(form: TryForm, matches: list | None = None, status: int = 200):
    items = rules.list_rules()
    db.session.commit()  # the built-in rules are seeded on the first read
    return render_template(TEMPLATES + "index.html", rules=items, form=form,
                           matches=matches), status


@blueprint.get("", endpoint="rules")  # the nav's `signal_rules_console.rules`
@staff_required(Permission.SURVEY_ADMIN)
def rules_page():
    """Every rule, by kind, with the "try a text" box."""
    return _list_page(TryForm(formdata=None))


@blueprint.post("/try")
@staff_required(Permission.SURVEY_ADMIN)
def try_text():
    """Show which rules fire on a sample text, and which a negation cancelled."""
    form = TryForm()
    if not form.validate_on_submit():
        return _list_page(form, status=400)
    try:
        matches = rules.describe_matches(rules.test_text(form.text.data or ""))
    except InvalidInput as error:
        form.text.errors = [*form.text.errors, *map(str, (error.errors or {}).get("text", []))]
        return _list_page(form, status=400)
    return _list_page(form, matches)


@blueprint.route("/new", methods=["GET", "POST"])
@staff_required(Permission.SURVEY_ADMIN)
def new_rule():
    """Add a phrase rule."""
    return _save(RuleForm(), None)


@blueprint.route("/<id:rule_id>/edit", methods=["GET", "POST"])
@staff_required(Permission.SURVEY_ADMIN)
def edit_rule(rule_id: int):
    """Change a rule's name, kind, language, phrases, product or enabled flag."""
    rule = rules.get_rule(rule_id)
    form = RuleForm()
    if request.method == "GET":
        form = RuleForm(formdata=None, data={
            "key": rule.key, "name": rule.name, "kind": str(rule.kind),
            "language": rule.language, "phrases": "\n".join(rule.phrases or []),
            "product": rule.product or "", "enabled": rule.enabled})
    return _save(form, rule)


def _save(form: RuleForm, rule: SignalRule | None):
    """Validate and save; the form again (400) with the service's messages on any error."""
    if request.method == "POST" and form.validate_on_submit():
        try:
            if rule is None:
                saved = rules.create_rule(form.values(with_key=True))
            else:
                saved = rules.update_rule(rule, form.values(with_key=False))
        except (InvalidInput, Conflict) as error:
            db.session.rollback()
            for name, messages in (error.errors or {}).items():
                field = form._fields.get(name)
                texts = [str(message) for message in messages]
                if field is not None:
                    field.errors = [*field.errors, *texts]
                else:
                    form.form_errors.extend(texts)
        else:
            db.session.commit()
            flash(_("Opportunity rule %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("signal_rules_console.rules", _anchor=f"rule-{saved.id}"),
                            code=303)
    status = 400 if request.method == "POST" else 200
    return render_template(TEMPLATES + "form.html", form=form, rule=rule), status


@blueprint.post("/<id:rule_id>/toggle")
@staff_required(Permission.SURVEY_ADMIN)
def toggle(rule_id: int):
    """Enable a disabled rule, or disable an enabled one."""
    rule = rules.get_rule(rule_id)
    rules.set_enabled(rule, not rule.enabled)
    db.session.commit()
    if rule.enabled:
        flash(_("Opportunity rule %(name)s enabled.", name=rule.name), "success")
    else:
        flash(_("Opportunity rule %(name)s disabled.", name=rule.name), "success")
    return redirect(url_for("signal_rules_console.rules", _anchor=f"rule-{rule.id}"), code=303)


@blueprint.post("/<id:rule_id>/delete")
@staff_required(Permission.SURVEY_ADMIN)
def delete_rule(rule_id: int):
    """Delete an admin's rule (a built-in one can only be disabled)."""
    rule = rules.get_rule(rule_id)
    name = rule.name
    try:
        rules.delete_rule(rule)
    except Conflict:
        db.session.rollback()
        flash(_("A built-in rule cannot be deleted; disable it instead."), "error")
        return redirect(url_for("signal_rules_console.rules"), code=303)
    db.session.commit()
    flash(_("Opportunity rule %(name)s deleted.", name=name), "success")
    return redirect(url_for("signal_rules_console.rules"), code=303)
