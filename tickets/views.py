"""Public pages of the tickets domain: the web form and the ticket tracking page."""
from __future__ import annotations

import uuid

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from service.db_types import utcnow
from service.errors import DomainError, NotFound
from service.extensions import db, limiter
from tickets import intake, sla
from tickets.forms import SupportRequestForm
from tickets.attachments_api import attachment_response
from tickets.models import ActorKind, Attachment, Channel, Message, Priority, Ticket, Visibility
from tickets.portal_links import portal_token, read_portal_token

blueprint = Blueprint("tickets_public", __name__, template_folder="templates")


@blueprint.route("/support/new", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"], methods=["POST"])
def support_new():
    """The web form: works without JavaScript, CSRF-protected, in zh_CN and en."""
    form = SupportRequestForm()
    if request.method == "GET":
        form.submission_id.data = uuid.uuid4().hex
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
    token = portal_token(ticket.id, ticket.contact_id)
    return redirect(url_for("tickets_public.portal_ticket", token=token, submitted=1), 303)


@blueprint.get("/portal/tickets/<token>")
def portal_ticket(token: str):
    """Follow one ticket through a signed link: status, promised response time, messages."""
    ids = read_portal_token(token)
    if ids is None:
        raise NotFound("This link is invalid or has expired.")
    ticket_id, contact_id = ids
    ticket = db.session.scalar(
        db.select(Ticket).options(joinedload(Ticket.assignee), joinedload(Ticket.contact))
        .where(Ticket.id == ticket_id, Ticket.contact_id == contact_id))
    if ticket is None:
        raise NotFound("This link is invalid or has expired.")
    messages = db.session.scalars(
        db.select(Message).where(Message.ticket_id == ticket.id,
                                 Message.visibility == Visibility.PUBLIC)
        .options(joinedload(Message.author_user), selectinload(Message.attachments))
        .order_by(Message.id)).all()
    response = render_template("tickets/portal_ticket.html", ticket=ticket, messages=messages,
                               sla_state=sla.live_state(ticket, utcnow()),
                               submitted=request.args.get("submitted") == "1",
                               staff_kind=ActorKind.STAFF, token=token)
    return response, 200, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@blueprint.get("/portal/tickets/<token>/attachments/<id:attachment_id>")
def portal_attachment(token: str, attachment_id: int):
    """Download a public attachment of the ticket this link opens (as a file)."""
    ids = read_portal_token(token)
    attachment = db.session.get(Attachment, attachment_id) if ids else None
    if (attachment is None or attachment.visibility != Visibility.PUBLIC
            or attachment.ticket_id != ids[0]
            or db.session.scalar(db.select(Ticket.contact_id)
                                 .where(Ticket.id == ids[0])) != ids[1]):
        raise NotFound("This link is invalid or has expired.")
    response = attachment_response(attachment)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get("/")
def home():
    """The public landing page."""
    return render_template("home.html")
