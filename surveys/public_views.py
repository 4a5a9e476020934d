"""Public survey pages: the one-click score, the rest of the answer, unsubscribe.

A GET never records an answer (mail scanners follow links): with `?score=N` it shows that
score preselected and one button that confirms it (a POST). A survey link signs nobody in,
and a signed-in staff member may not answer (agents must not rate themselves): the page
refuses them and records nothing, not even that it was opened.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user

from service.db_types import utcnow
from service.errors import Conflict, InvalidInput
from service.extensions import csrf, db, limiter
from service.i18n import locale_for, normalize_locale
from surveys import answering
from surveys import links as _links  # noqa: F401  (registers the mail-body redaction)
from surveys.answering import LinkState, SurveyExpired, SurveyLink
from surveys.models import SurveyKind
from surveys.public_forms import STEP_DETAILS, STEP_SCORE, ButtonForm, form_class
from tickets.facts import ticket_facts
from tickets.models import format_number

blueprint = Blueprint("survey_pages", __name__, url_prefix="/s", template_folder="templates")

LINK_STATUS = {LinkState.INVALID: 404, LinkState.EXPIRED: 410, LinkState.LOCKED: 409}
# As the portal's (tickets.portal.blueprint): only our origin, never the token-bearing
# path, goes to other sites; "no-referrer" would fail Flask-WTF's HTTPS referrer check.
REFERRER_POLICY = "strict-origin"


@blueprint.after_request
def _private(response: Response) -> Response:
    response.headers["Referrer-Policy"] = REFERRER_POLICY
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@blueprint.context_processor
def _page_helpers() -> dict:
    def lang_url(code: str) -> str:
        # The same page in another language (keeping ?score=), for the language links.
        args = {**request.args.to_dict(), "lang": code}
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    return {"lang_url": lang_url}


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


def _locale(link: SurveyLink) -> str:
    """The visitor's own choice (?lang=, the lang cookie), else the invitation's language."""
    chosen = (normalize_locale(request.args.get("lang"))
              or normalize_locale(request.cookies.get("lang")))
    return chosen or locale_for(link.invitation.language if link.invitation else None)


def _problem(problem: str, status: int):
    return render_template("surveys/public/problem.html", problem=problem,
                           status=status), status


@blueprint.route("/<token>", methods=["GET", "POST"])
@limiter.limit(_public_limit)
def survey(token: str):
    """GET: the survey (a one-click score preselected). POST: save the score, or the rest."""
    if current_user.is_authenticated:
        return _problem("staff", 403)
    now = utcnow()
    link = answering.read_link(token, now)
    if link.state in LINK_STATUS:
        if link.invitation is None:
            return _problem(link.state.value, LINK_STATUS[link.state])
        with force_locale(_locale(link)):
            return _problem(link.state.value, LINK_STATUS[link.state])
    with force_locale(_locale(link)):
        if request.method == "POST":
            return _save(token, link, now)
        return _show(token, link, now)


def _show(token: str, link: SurveyLink, now):
    form_type = form_class(link.invitation.kind)
    preselected = _score_arg(link.invitation.kind)
    if preselected is not None:
        form = form_type(formdata=None, step=STEP_SCORE, score=str(preselected))
    elif link.response is not None:
        response = link.response
        form = form_type(formdata=None, obj=None, step=STEP_DETAILS, score=str(response.score),
                         comment=response.comment,
                         **{name: str(value) for name in ("attitude", "efficiency", "outcome")
                            if (value := getattr(response, name)) is not None})
    else:
        form = form_type(formdata=None, step=STEP_DETAILS)
    if request.method == "GET":  # a HEAD (a link checker) shows nobody anything
        # End the read first: a GET's SQLite transaction is deferred, and upgrading it to
        # a write fails at once if another writer got in between; a fresh one waits.
        db.session.commit()
        answering.mark_opened(link.invitation, now)
        db.session.commit()
    return _page(token, link, form)


def _score_arg(kind: SurveyKind) -> int | None:
    """The one-click link's score, when it is one of the survey's (else nothing preselected)."""
    raw = request.args.get("score", "")
    if not raw.isdigit() or len(raw) > 2:
        return None
    score = int(raw)
    return score if score in answering.SCORES[kind] else None


def _save(token: str, link: SurveyLink, now):
    form = form_class(link.invitation.kind)()
    if not form.validate_on_submit():
        return _page(token, link, form, 400)
    try:
        answering.record_answer(link.invitation, form.answer(), ip=request.remote_addr,
                                user_agent=request.user_agent.string, now=now)
    except InvalidInput as error:
        db.session.rollback()
        for name, messages in (error.errors or {}).items():
            if hasattr(form, name):
                getattr(form, name).errors = list(messages)
        return _page(token, link, form, 400)
    except SurveyExpired:
        db.session.rollback()
        return _problem(LinkState.EXPIRED.value, 410)
    except Conflict:
        db.session.rollback()
        return _problem(LinkState.LOCKED.value, 409)
    db.session.commit()
    if form.step.data == STEP_SCORE:
        # The score is saved; the page for the rest (a reload does not post again).
        return redirect(url_for(".survey", token=token), 303)
    return render_template("surveys/public/thanks.html", kind=link.invitation.kind.value)


def _page(token: str, link: SurveyLink, form, status: int = 200):
    invitation = link.invitation
    facts = ticket_facts(invitation.ticket_id) if invitation.ticket_id else None
    return render_template(
        "surveys/public/survey.html", form=form, kind=invitation.kind.value, token=token,
        step=form.step.data or STEP_DETAILS, response=link.response,
        ticket_number=format_number(facts.id) if facts else None,
        ticket_subject=facts.subject if facts else None), status


@blueprint.route("/<token>/unsubscribe", methods=["GET", "POST"])
@limiter.limit(_public_limit)
def unsubscribe(token: str):
    """GET: one button. POST: no more surveys to this contact, whatever the link's age."""
    if current_user.is_authenticated:
        return _problem("staff", 403)
    link = answering.read_link(token)
    if link.invitation is None:  # unknown: an expired or locked survey may still opt out
        return _problem(LinkState.INVALID.value, 404)
    with force_locale(_locale(link)):
        form = ButtonForm()
        if request.method == "GET":
            return render_template("surveys/public/unsubscribe.html", form=form, token=token)
        if not form.validate_on_submit():
            return render_template("surveys/public/unsubscribe.html", form=form,
                                   token=token), 400
        answering.unsubscribe(link.invitation)
        db.session.commit()
        return render_template("surveys/public/unsubscribed.html")


# The forms check their CSRF token themselves, so a missing one shows the form again with
# a message (400) instead of a bare error page.
csrf.exempt(survey)
csrf.exempt(unsubscribe)
