"""The one-click confirmation links of the resolution mail ("fixed" / "still a problem").

A GET only shows the answer, preselected, with one button: mail scanners follow links and
must not answer for the customer. These links sign nobody in.
"""
from __future__ import annotations

from flask import current_app, render_template, request

from service.errors import Conflict, InvalidInput
from service.extensions import db, limiter
from tickets.models import Ticket
from tickets.portal import confirming
from tickets.portal.blueprint import blueprint
from tickets.portal.forms import ConfirmForm
from tickets.portal_links import portal_url
from tickets.resolution.models import ConfirmationOutcome

LINK_STATUS = {confirming.LinkState.INVALID: 404, confirming.LinkState.EXPIRED: 410}


def answer_of(form: ConfirmForm) -> confirming.Answer:
    """The customer's answer as a validated form gives it."""
    return confirming.Answer(
        ConfirmationOutcome(form.outcome.data), (form.comment.data or "").strip() or None,
        int(form.resolution_id.data) if form.resolution_id.data else None)


def answered_page(ticket: Ticket, error: Conflict | None = None, *, state: str | None = None,
                  ticket_link: str | None = None, viewer=None):
    """The 409 page: this fix was answered already (or superseded), and how."""
    state = state or (str(error.state) if getattr(error, "state", None) else None)
    return render_template("tickets/portal/already_answered.html", ticket=ticket, state=state,
                           ticket_link=ticket_link, viewer=viewer), 409


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


@blueprint.route("/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(_public_limit, methods=["POST"])
def confirmation_link(token: str):
    """GET: the fix and the chosen answer, one button. POST: record it, say thank you."""
    link = confirming.read_link(token)
    if link.state in LINK_STATUS:
        status = LINK_STATUS[link.state]
        return render_template("tickets/portal/link_problem.html", problem=link.state.value,
                               status=status, confirmation=True), status
    ticket_link = portal_url(link.ticket.id, link.contact_id) if link.contact_id else None
    if link.state == confirming.LinkState.ANSWERED:
        return answered_page(link.ticket, state=str(link.resolution.state),
                             ticket_link=ticket_link)
    if request.method == "GET":
        form = ConfirmForm(formdata=None, outcome=link.outcome.value
                           if link.outcome != ConfirmationOutcome.AUTO_CONFIRMED else None)
        return _page(link, form)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(link, form, 400)
    try:
        confirming.answer_from_link(link, answer_of(form), ip=request.remote_addr,
                                    user_agent=request.user_agent.string)
    except InvalidInput:
        db.session.rollback()
        form.comment.errors = [ConfirmForm.comment_required_message()]
        return _page(link, form, 400)
    except Conflict as error:
        db.session.rollback()
        return answered_page(link.ticket, error, ticket_link=ticket_link)
    return render_template("tickets/portal/confirmed.html", ticket=link.ticket,
                           outcome=form.outcome.data, ticket_link=ticket_link)


def _page(link: confirming.ConfirmationLink, form: ConfirmForm, status: int = 200):
    return render_template("tickets/portal/confirm_link.html", ticket=link.ticket,
                           resolution=link.resolution, form=form), status
