"""Console actions of the knowledge base on a ticket: insert an article into the reply, link
or unlink a known issue / root cause, draft an article from a resolved ticket.

Each is a POST from the ticket page's "Knowledge base" panel (CSRF-checked); a refusal is
flashed and the ticket page shown again.
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from service.auth.models import User
from service.auth.permissions import Permission
from service.console.access import console_user, staff_required
from service.errors import DomainError
from service.extensions import db
from knowledge_base import drafting, ticket_links
from knowledge_base.ticket_panel import console_url
from tickets.services import ensure_visible

blueprint = Blueprint("kb_tickets", __name__, url_prefix="/console/kb/tickets",
                      template_folder="templates")


def _ticket_page(ticket_id: int, anchor: str = "knowledge-base", **args):
    return redirect(url_for("ticket_page.show", ticket_id=ticket_id, _anchor=anchor, **args),
                    303)


def _checked_form() -> bool:
    """Whether the posted form carries a valid CSRF token (else a message is flashed)."""
    if FlaskForm().validate_on_submit():
        return True
    flash(_("The form expired. Please try again."), "warning")
    return False


def _act(ticket_id: int, action: Callable[[User], object], done: str):
    """Run one panel action for the signed-in user; commit, or flash why it was refused."""
    user = console_user()
    ensure_visible(user, ticket_id)  # 404 for a ticket the user may not see
    if not _checked_form():
        return None
    try:
        action(user)
    except DomainError as error:
        db.session.rollback()
        flash(error.detail, "error")
        return None
    db.session.commit()
    flash(done, "success")
    return True


@blueprint.post("/<id:ticket_id>/articles/<id:article_id>/use")
@staff_required(Permission.KB_WRITE)
def use(ticket_id: int, article_id: int):
    """Note the article as used and open the reply box filled with it."""
    done = _act(ticket_id, lambda user: ticket_links.use_article(user, ticket_id, article_id),
                _("The article is in the reply box: check it and send."))
    if done is None:
        return _ticket_page(ticket_id)
    return _ticket_page(ticket_id, anchor="reply", kb_article=article_id)


@blueprint.post("/<id:ticket_id>/articles/<id:article_id>/link")
@staff_required(Permission.KB_WRITE)
def link(ticket_id: int, article_id: int):
    """Mark the ticket as a case of the known issue or root cause."""
    _act(ticket_id, lambda user: ticket_links.link_article(user, ticket_id, article_id),
         _("The ticket is linked to the article."))
    return _ticket_page(ticket_id)


@blueprint.post("/<id:ticket_id>/articles/<id:article_id>/unlink")
@staff_required(Permission.KB_WRITE)
def unlink(ticket_id: int, article_id: int):
    """Remove the ticket's link to the known issue or root cause."""
    _act(ticket_id, lambda user: ticket_links.unlink_article(user, ticket_id, article_id),
         _("The ticket is no longer linked to the article."))
    return _ticket_page(ticket_id)


@blueprint.post("/<id:ticket_id>/draft")
@staff_required(Permission.KB_WRITE)
def draft(ticket_id: int):
    """Draft a root-cause article from the resolved ticket and open it for editing."""
    user = console_user()
    ensure_visible(user, ticket_id)
    if not _checked_form():
        return _ticket_page(ticket_id)
    try:
        article = drafting.draft_from_ticket(user, ticket_id)
    except drafting.DraftExists as error:
        db.session.rollback()
        flash(error.detail, "warning")
        return redirect(console_url("kb_console.show", error.article_id), 303)
    except DomainError as error:
        db.session.rollback()
        flash(error.detail, "error")
        return _ticket_page(ticket_id)
    db.session.commit()
    flash(_("A draft article was written from this ticket. Review it before publishing."),
          "success")
    return redirect(console_url("kb_console.edit", article.id), 303)
