"""The signed-in customer's tickets: list, page, files, reply, new request, confirmation."""
from __future__ import annotations

import functools
import uuid
from typing import Callable

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from service.db_types import utcnow
from service.errors import Conflict, DomainError, InvalidInput, NotFound
from service.extensions import csrf, db, limiter
from service.validation import MAX_ID, strip_controls
from tickets.attachments_api import attachment_response
from tickets.models import ActorKind, Priority, Status, Ticket
from tickets.portal import auth, confirming, requests, services
from tickets.portal.auth import PortalViewer
from tickets.portal.blueprint import blueprint
from tickets.portal.confirm_views import answer_of, answered_page
from tickets.portal.forms import ButtonForm, ConfirmForm, NewTicketForm, ReplyForm
from tickets.portal.promise import portal_zone, promise_for
from tickets.portal_links import read_portal_token
from tickets.ticket_page import AttachmentTooLarge, file_size
from tickets.upload_forms import read_upload_form

# Files may be as large as ATTACHMENT_MAX_BYTES each, beyond the app-wide request limit;
# the views taking files are exempt from the global CSRF check (which would read the body
# under that limit) and check the token through their form instead.


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


def signed_in(view: Callable) -> Callable:
    """Pages for a portal viewer: anyone else goes to the sign-in page."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        viewer = auth.current_viewer()
        if viewer is None:
            return redirect(url_for("portal.login"))
        return view(viewer, *args, **kwargs)

    return wrapper


def _language() -> str:
    return "zh" if str(get_locale()).startswith("zh") else "en"


def _uploads(form) -> list[requests.Upload]:
    return [requests.Upload(storage.filename or "", storage.read(), storage.mimetype)
            for storage in form.attachments.data or [] if storage and storage.filename]


def _field_errors(form, error: DomainError) -> None:
    """Show a service's refusal on the form, in the reader's language."""
    if isinstance(error, AttachmentTooLarge):
        form.attachments.errors = [_("Larger than the %(size)s limit: %(files)s",
                                     size=file_size(error.limit),
                                     files=", ".join(error.filenames))]
    elif error.errors and "attachments" in error.errors:
        form.attachments.errors = [_("Attach at most %(count)s files.",
                                     count=requests.MAX_UPLOADS)]
    elif error.errors and "body" in error.errors and hasattr(form, "body"):
        form.body.errors = [_("Please write your message.")]
    else:
        form.form_errors.append(_("We could not accept this. Please check the fields and "
                                  "send it again."))


# ---- the list ----

@blueprint.get("")
@signed_in
def home(viewer: PortalViewer):
    """The signed-in home: the viewer's tickets (an admin contact: the account's)."""
    before = request.args.get("before", type=int)
    page = services.list_tickets(viewer, before=before if before and 0 < before <= MAX_ID
                                 else None)
    now = utcnow()
    promises = {ticket.id: promise_for(ticket, now, awaiting_confirmation=ticket.id
                                       in page.awaiting_confirmation)
                for ticket in page.tickets}
    return render_template("tickets/portal/home.html", viewer=viewer, page=page,
                           promises=promises, zone=portal_zone().key)


# ---- one ticket ----

def _from_mail_link(token: str) -> tuple[PortalViewer, Ticket]:
    """Follow a ticket's signed mail link: this browser may then see that ticket (and its
    forms, which post to the ticket's number). The token reaches no other site: portal
    pages send at most our origin as a Referer."""
    ids = read_portal_token(token)
    ticket = services.ticket_for_link(*ids) if ids else None
    if ticket is None:
        raise NotFound("This link is invalid or has expired.")
    auth.grant_ticket(ticket.contact_id, ticket.id)
    return auth.current_viewer(), ticket


def _ticket_or_404(viewer: PortalViewer, ref: str) -> Ticket:
    ticket = services.ticket_for(viewer, ref)
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


@blueprint.get("/tickets/<ref>")
def ticket(ref: str):
    """A ticket the viewer may see; a signed mail link (a token) opens it for this browser."""
    if services.parse_number(ref) is None:
        return _render_ticket(*_from_mail_link(ref))
    viewer = auth.current_viewer()
    if viewer is None:
        return redirect(url_for("portal.login"))
    return _render_ticket(viewer, _ticket_or_404(viewer, ref))


def _render_ticket(viewer: PortalViewer, ticket: Ticket, *, reply: ReplyForm | None = None,
                   confirm: ConfirmForm | None = None, status: int = 200):
    now = utcnow()
    resolution = confirming.pending_resolution(ticket)
    if confirm is None and resolution is not None:
        confirm = ConfirmForm(formdata=None, resolution_id=str(resolution.id))
    follow_up_of = (services.ticket_number(ticket.follow_up_of_id)
                    if services.can_see(viewer, ticket.follow_up_of_id) else None)
    return render_template(
        "tickets/portal/ticket.html", viewer=viewer, ticket=ticket,
        messages=services.public_messages(ticket),
        promise=promise_for(ticket, now, awaiting_confirmation=resolution is not None),
        resolution=resolution, confirm_form=confirm,
        reply_form=reply or ReplyForm(formdata=None), follow_up_of=follow_up_of,
        submitted=request.args.get("submitted") == "1", staff_kind=ActorKind.STAFF,
        closed=ticket.status == Status.CLOSED, zone=portal_zone().key,
        grace_days=current_app.config["REOPEN_GRACE_DAYS"],
        max_uploads=requests.MAX_UPLOADS,
        max_file=file_size(current_app.config["ATTACHMENT_MAX_BYTES"])), status


@blueprint.get("/tickets/<ref>/attachments/<id:attachment_id>")
def attachment(ref: str, attachment_id: int):
    """Download a public attachment of a ticket the viewer may see (always as a file)."""
    if services.parse_number(ref) is None:  # from a page opened by a mail link, before
        viewer, ticket = _from_mail_link(ref)
        ref = ticket.number
    else:
        viewer = auth.current_viewer()
    found = services.attachment_for(viewer, ref, attachment_id) if viewer else None
    if found is None:
        raise NotFound("No such file.")
    return attachment_response(found)


@blueprint.post("/tickets/<ref>/reply")
@limiter.limit(_public_limit)
@signed_in
def reply(viewer: PortalViewer, ref: str):
    """The customer's reply with files; on a long-closed ticket it opens a linked new one."""
    form, valid = read_upload_form(ReplyForm, requests.MAX_UPLOADS)
    if valid is None:
        return _render_ticket(viewer, _ticket_or_404(viewer, ref), reply=form, status=413)
    ticket = _ticket_or_404(viewer, ref)
    if not valid:
        return _render_ticket(viewer, ticket, reply=form, status=400)
    try:
        landed = requests.reply(ticket, viewer.contact, form.body.data, _uploads(form),
                                utcnow(), language=_language())
    except InvalidInput as error:
        db.session.rollback()
        _field_errors(form, error)
        return _render_ticket(viewer, ticket, reply=form, status=400)
    if landed.id != ticket.id:
        auth.grant_ticket(viewer.contact.id, landed.id)
        flash(_("Your earlier request was closed some time ago, so we opened a new request "
                "for your message."), "portal")
    else:
        flash(_("Your message was sent."), "portal")
    return redirect(url_for("portal.ticket", ref=landed.number) + "#conversation", 303)


csrf.exempt(reply)


@blueprint.post("/tickets/<ref>/confirm")
@limiter.limit(_public_limit)
@signed_in
def confirm(viewer: PortalViewer, ref: str):
    """Answer the pending resolution from the ticket page: fixed, or still a problem."""
    ticket = _ticket_or_404(viewer, ref)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _render_ticket(viewer, ticket, confirm=form, status=400)
    try:
        confirming.answer_from_portal(ticket, answer_of(form), contact_id=viewer.contact.id,
                                      ip=request.remote_addr,
                                      user_agent=request.user_agent.string)
    except InvalidInput:
        db.session.rollback()
        form.comment.errors = [ConfirmForm.comment_required_message()]
        return _render_ticket(viewer, ticket, confirm=form, status=400)
    except Conflict as error:  # answered already (here, by mail or by phone), or superseded
        db.session.rollback()
        return answered_page(ticket, error, viewer=viewer)
    if form.outcome.data == "confirmed":
        flash(_("Thank you for confirming. The request is closed."), "portal")
    else:
        flash(_("Thank you. We reopened the request and are working on it again."), "portal")
    return redirect(url_for("portal.ticket", ref=ticket.number), 303)


# ---- a new request ----

@blueprint.route("/tickets/new", methods=["GET", "POST"])
@limiter.limit(_public_limit, methods=["POST"])
@signed_in
def new_ticket(viewer: PortalViewer):
    """Open a request as the signed-in contact; a double submit makes one ticket."""
    if request.method == "GET":
        form = NewTicketForm(formdata=None, submission_id=uuid.uuid4().hex,
                             subject=strip_controls(request.args.get("subject", ""))[:200].strip())
        return _render_new(viewer, form)
    form, valid = read_upload_form(NewTicketForm, requests.MAX_UPLOADS)
    if valid is None:
        form.submission_id.data = uuid.uuid4().hex
        return _render_new(viewer, form, 413)
    if not valid:
        return _render_new(viewer, form, 400)
    try:
        ticket = requests.open_request(
            viewer.contact, subject=form.subject.data, description=form.description.data,
            urgency=Priority(form.urgency.data), product=form.product.data,
            language=_language(), uploads=_uploads(form),
            submission_id=form.submission_id.data or None)
    except DomainError as error:
        db.session.rollback()
        _field_errors(form, error)
        return _render_new(viewer, form, error.status)
    auth.grant_ticket(viewer.contact.id, ticket.id)
    flash(_("Thank you. Your request was received as %(number)s.", number=ticket.number),
          "portal")
    return redirect(url_for("portal.ticket", ref=ticket.number), 303)


csrf.exempt(new_ticket)


def _render_new(viewer: PortalViewer, form: NewTicketForm, status: int = 200):
    return render_template("tickets/portal/new_ticket.html", viewer=viewer, form=form,
                           max_uploads=requests.MAX_UPLOADS,
                           max_file=file_size(current_app.config["ATTACHMENT_MAX_BYTES"])
                           ), status


@blueprint.context_processor
def _portal_layout() -> dict:
    """The sign-out button's form, for the portal layout."""
    return {"logout_form": ButtonForm(formdata=None)}
