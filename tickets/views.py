"""Public pages of the tickets domain: the landing page and the web form (the portal,
where a ticket is followed, is tickets.portal)."""
from __future__ import annotations

import uuid

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from service.errors import DomainError
from service.extensions import db, limiter
from service.validation import strip_controls
from tickets import intake
from tickets.forms import SupportRequestForm
from tickets.models import Channel, Priority
from tickets.portal import auth as portal_auth

blueprint = Blueprint("tickets_public", __name__, template_folder="templates")


@blueprint.route("/support/new", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"], methods=["POST"])
def support_new():
    """The web form: works without JavaScript, CSRF-protected, in zh_CN and en."""
    form = SupportRequestForm()
    if request.method == "GET":
        form.submission_id.data = uuid.uuid4().hex
        # The help centre's "still need help?" link carries what the visitor searched for.
        form.subject.data = strip_controls(request.args.get("subject", ""))[:200].strip()
        return render_template("tickets/support_new.html", form=form)
    if not form.validate_on_submit():
        return render_template("tickets/support_new.html", form=form), 400
    language = "zh" if str(get_locale()).startswith("zh") else "en"
    try:
        result = intake.submit(intake.IntakeRequest(
            subject=form.subject.data.strip(), description=form.description.data.strip(),
            customer_email=form.email.data, customer_name=(form.name.data or "").strip() or None,
            customer_phone=(form.phone.data or "").strip() or None,
            customer_company=(form.company.data or "").strip() or None,
            urgency=Priority(form.urgency.data), product=(form.product.data or "").strip() or None,
            language=language, channel=Channel.WEB,
            idempotency_key=form.submission_id.data or None, idempotency_scope="web"))
    except DomainError as error:
        db.session.rollback()
        # The form's own validators already gave field messages in the reader's
        # language; anything the service refuses beyond that gets one clear sentence.
        form.form_errors.append(_("We could not accept this request. Please check the "
                                  "fields and send it again."))
        return render_template("tickets/support_new.html", form=form), error.status
    ticket = result.ticket
    # This browser may follow the ticket in the portal, as its mailed link would allow.
    portal_auth.grant_ticket(ticket.contact_id, ticket.id)
    return redirect(url_for("portal.ticket", ref=ticket.number, submitted=1), 303)


@blueprint.get("/")
def home():
    """The public landing page."""
    return render_template("home.html")
