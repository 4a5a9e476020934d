"""Portal sign-in by magic link, and sign-out."""
from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for

from service.extensions import db, limiter
from tickets.portal import auth, sign_in
from tickets.portal.blueprint import blueprint
from tickets.portal.forms import ButtonForm, LoginForm

LINK_PROBLEM_STATUS = {sign_in.LinkProblem.INVALID: 404, sign_in.LinkProblem.EXPIRED: 410,
                       sign_in.LinkProblem.USED: 409}


def _client_limit() -> str:
    return current_app.config["RATELIMIT_PORTAL_LINK_CLIENT"]


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(_client_limit, methods=["POST"])  # per client: the socket peer
def login():
    """Ask for a sign-in link; the answer is the same whether the address is known or not."""
    viewer = auth.current_viewer()
    if request.method == "GET" and viewer is not None and viewer.signed_in_fully:
        return redirect(url_for("portal.home"))
    form = LoginForm()
    if request.method == "GET":
        return render_template("tickets/portal/login.html", form=form)
    if not form.validate_on_submit():
        return render_template("tickets/portal/login.html", form=form), 400
    sign_in.request_link(form.email.data)
    db.session.commit()
    return redirect(url_for("portal.login_sent"), 303)


@blueprint.get("/login/sent")
def login_sent():
    """The one answer to every link request."""
    return render_template("tickets/portal/login_sent.html",
                           minutes=current_app.config["PORTAL_SIGN_IN_MINUTES"])


@blueprint.route("/login/<token>", methods=["GET", "POST"])
def sign_in_link(token: str):
    """GET shows a "Sign in" button (mail scanners follow links); POST uses the link once."""
    form = ButtonForm()
    if request.method == "GET":
        check = sign_in.check_link(token)
        if check.problem is not None:
            return _link_problem(check.problem)
        return render_template("tickets/portal/sign_in.html", form=form, token=token)
    if not form.validate_on_submit():
        return render_template("tickets/portal/sign_in.html", form=form, token=token,
                               expired_form=True), 400
    check = sign_in.consume_link(token)
    if check.problem is not None:
        db.session.rollback()
        return _link_problem(check.problem)
    auth.sign_in(check.contact_id)
    db.session.commit()
    return redirect(url_for("portal.home"), 303)


def _link_problem(problem: sign_in.LinkProblem):
    status = LINK_PROBLEM_STATUS[problem]
    return render_template("tickets/portal/link_problem.html", problem=problem.value,
                           status=status), status


@blueprint.post("/logout")
def logout():
    """End the portal session (a staff console session in the same browser stays)."""
    form = ButtonForm()
    if not form.validate_on_submit():  # CSRFProtect already refused a missing token
        return redirect(url_for("portal.home"), 303)
    auth.sign_out()
    return redirect(url_for("portal.login"), 303)
