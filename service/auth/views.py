"""Console sign-in, sign-out, password reset and the user's own profile."""
from __future__ import annotations

import hashlib
import math
import re
import time

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user

from service import audit
from service.auth import passwords, prefs, services, sessions
from service.auth.cookies import cookie_secure
from service.auth.forms import (ChangePasswordForm, ForgotPasswordForm, LanguageForm,
                                LoginForm, ProfileForm, ResetPasswordForm)
from service.labels import AVAILABILITY_LABELS, ROLE_LABELS
from service.auth.models import User
from service.auth.permissions import Permission, can
from service.console.access import console_user, staff_required
from service.directory.services import set_availability
from service.errors import InvalidInput
from service.extensions import db, limiter

blueprint = Blueprint("auth", __name__, url_prefix="/console", template_folder="templates")

_UNSAFE_IN_TARGET = re.compile(r"[\x00-\x1f\x7f\\]")  # controls (browsers drop them), "\"
_LANGUAGE_COOKIE_AGE = 365 * 86400


@blueprint.context_processor
def _password_rules() -> dict:
    return {"min_password_length": services.MIN_PASSWORD_LENGTH}


def safe_next(value: object) -> str:
    """A redirect target on this site (a relative path), else the console's start page.

    One leading slash, no backslash, no control character: browsers read "//host", a
    slash and a backslash, or a slash, tab and slash as another host; and a scheme
    ("https:", "javascript:") cannot come first.
    """
    if (isinstance(value, str) and value.startswith("/") and not value.startswith("//")
            and len(value) <= 2000 and not _UNSAFE_IN_TARGET.search(value)):
        return value
    return url_for("console.home")


# ---- rate limits: only failures count (deduct_when), keyed per account and per client ----

def _failed(_response) -> bool:
    return bool(g.get("auth_failed"))


def _account_key() -> str:
    # Hashed: the key is bounded whatever was typed, and the store holds no addresses.
    address = (request.form.get("email") or "").strip().lower()
    return "account:" + hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()


def _user_key() -> str:
    return f"user:{current_user.get_id()}"


def _account_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN_ACCOUNT"]


def _client_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN_CLIENT"]


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


@blueprint.errorhandler(RateLimitExceeded)
def _too_many_attempts(_error: RateLimitExceeded):
    """The page the user was on, saying how long to wait (HTML, status 429)."""
    limit = limiter.current_limit
    seconds = max(1, int(limit.reset_at - time.time())) if limit else 60
    minutes = math.ceil(seconds / 60)
    message = ngettext("Too many attempts. Please try again in %(num)d minute.",
                       "Too many attempts. Please try again in %(num)d minutes.", minutes)
    headers = {"Retry-After": str(seconds)}
    if request.endpoint == "auth.login":
        form = LoginForm()
        form.form_errors.append(message)
        return _login_page(form), 429, headers
    if request.endpoint == "auth.forgot_password":
        form = ForgotPasswordForm()
        form.form_errors.append(message)
        return render_template("auth/forgot_password.html", form=form), 429, headers
    if request.endpoint == "auth.change_password" and current_user.is_authenticated:
        form = ChangePasswordForm()
        form.form_errors.append(message)
        return _profile_page(console_user(), password_form=form), 429, headers
    return render_template("console/error.html", status=429), 429, headers


# ---- sign in, sign out, language ----

def _login_page(form: LoginForm) -> str:
    return render_template("auth/login.html", form=form)


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(_account_limit, key_func=_account_key, methods=["POST"], deduct_when=_failed)
@limiter.limit(_client_limit, key_func=get_remote_address, methods=["POST"],
               deduct_when=_failed)
def login():
    """Sign in with email and password; the same answer for every kind of failure."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(safe_next(request.args.get("next")))
        form = LoginForm(formdata=None)
        requested = request.args.get("next")
        form.next.data = requested if safe_next(requested) == requested else ""
        return _login_page(form)
    form = LoginForm()
    if not form.validate_on_submit():
        return _login_page(form), 400
    user = services.authenticate(form.email.data, form.password.data)
    if user is None or not can(user, Permission.CONSOLE):  # partners: API only
        g.auth_failed = True
        db.session.rollback()
        audit.record_sign_in_failure(form.email.data)
        db.session.commit()
        form.form_errors.append(_("The email address or password is not right, or this "
                                  "account may not sign in here."))
        return _login_page(form), 401
    sessions.sign_in(user, ip=request.remote_addr, user_agent=request.user_agent.string)
    db.session.commit()
    return redirect(safe_next(form.next.data), 303)


@blueprint.post("/logout")
def logout():
    """Sign out: the session ends for every copy of its cookie."""
    sessions.sign_out()
    db.session.commit()
    flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"), 303)


@blueprint.post("/language")
def language():
    """Switch the console's language (saved to the profile when signed in)."""
    form = LanguageForm()
    target = safe_next(form.next.data)
    if not form.validate():
        flash(_("Please choose English or Chinese."), "error")
        return redirect(target, 303)
    if current_user.is_authenticated:
        console_user().locale = form.language.data
        db.session.commit()
    response = redirect(target, 303)
    response.set_cookie("lang", form.language.data, max_age=_LANGUAGE_COOKIE_AGE,
                        samesite="Lax", httponly=True, secure=cookie_secure(current_app))
    return response


# ---- password reset ----

@blueprint.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_public_limit, methods=["POST"])  # per client: the socket peer
@limiter.limit(_account_limit, key_func=_account_key, methods=["POST"])
def forgot_password():
    """Ask for a reset link; the answer never says whether the address has an account."""
    form = ForgotPasswordForm()
    if request.method == "GET":
        return render_template("auth/forgot_password.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/forgot_password.html", form=form), 400
    passwords.request_password_reset(form.email.data)
    db.session.commit()
    return redirect(url_for("auth.forgot_password_sent"), 303)


@blueprint.get("/password/forgot/sent")
def forgot_password_sent():
    """The one answer to every reset request."""
    return render_template("auth/forgot_password_sent.html",
                           minutes=current_app.config["PASSWORD_RESET_MINUTES"])


@blueprint.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from a mailed link; every session of the user ends."""
    check = passwords.check_reset_token(token)
    if check.user is None:
        status = 400 if check.problem == passwords.ResetProblem.INVALID else 410
        return render_template("auth/reset_invalid.html", problem=check.problem), status
    user = check.user
    form = ResetPasswordForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 400
        return render_template("auth/reset_password.html", form=form, token=token,
                               user=user), status
    try:
        passwords.reset_password(user, form.new_password.data)
        audit.record("auth.password_reset", object_type="user", object_id=user.id, actor=user)
    except InvalidInput as error:
        db.session.rollback()
        _show_errors(form, error)
        return render_template("auth/reset_password.html", form=form, token=token,
                               user=user), 400
    if current_user.is_authenticated and current_user.get_id() == str(user.id):
        sessions.sign_out()  # this browser's session ended with the others
    db.session.commit()
    flash(_("Your password is changed. Please sign in with the new one."), "success")
    return redirect(url_for("auth.login"), 303)


# The token is in the URL: a Referer from this page may name our origin, never the path.
# Not "no-referrer": over HTTPS Flask-WTF refuses a POST without a same-origin Referer
# (WTF_CSRF_SSL_STRICT), which would break this page's own form and language switch.
RESET_REFERRER_POLICY = "strict-origin"


@blueprint.after_request
def _no_token_in_referers(response):
    if request.endpoint == "auth.reset_password":
        response.headers["Referrer-Policy"] = RESET_REFERRER_POLICY
        response.headers["Cache-Control"] = "no-store"  # nor in a shared cache
    return response


# ---- the user's own profile ----

def _profile_data(user: User) -> dict:
    data = {"name": user.name, "language": user.locale if user.locale == "zh_CN" else "en",
            "timezone": user.timezone or "", "availability": str(user.availability)}
    data.update({f"notify_{kind}": wanted for kind, wanted in prefs.notice_prefs(user).items()})
    return data


def _profile_form(**kwargs) -> ProfileForm:
    return ProfileForm(default_zone=current_app.config["TIMEZONE"], **kwargs)


def _profile_page(user: User, *, profile_form: ProfileForm | None = None,
                  password_form: ChangePasswordForm | None = None) -> str:
    # The form not being submitted is shown fresh (formdata=None), not bound to this POST.
    profile_form = profile_form or _profile_form(formdata=None, data=_profile_data(user))
    password_form = password_form or ChangePasswordForm(formdata=None)
    current = sessions.current_session_hash()
    open_sessions = []
    for row in sessions.open_sessions(user.id):
        browser, system = sessions.describe_user_agent(row.user_agent)
        open_sessions.append({"row": row, "browser": browser, "system": system,
                              "current": row.token_hash == current})
    return render_template("auth/profile.html", user=user, form=profile_form,
                           password_form=password_form, sessions=open_sessions,
                           role_label=ROLE_LABELS.get(user.role, user.role),
                           availability_labels=AVAILABILITY_LABELS)


def _show_errors(form, error: InvalidInput, renames: dict[str, str] | None = None) -> None:
    """Put a service's field errors on the form's fields (or above the form)."""
    for name, messages in (error.errors or {}).items():
        field = form._fields.get((renames or {}).get(name, name))
        target = field.errors if field is not None else form.form_errors
        if isinstance(target, tuple):  # a field not validated yet holds a tuple
            target = field.errors = list(target)
        target.extend(messages if isinstance(messages, list) else [str(messages)])


@blueprint.route("/profile", methods=["GET", "POST"])
@staff_required()
def profile():
    """The signed-in user's name, language, time zone, availability, notices, sessions."""
    user = console_user()
    if request.method == "GET":
        return _profile_page(user)
    form = _profile_form()
    if not form.validate_on_submit():
        return _profile_page(user, profile_form=form), 400
    try:
        services.update_profile(user, name=form.name.data, locale=form.language.data,
                                timezone=form.timezone.data or None)
        set_availability(user, form.availability.data)
        prefs.set_notice_prefs(user, form.wanted_notices())
    except InvalidInput as error:
        db.session.rollback()
        _show_errors(form, error, {"locale": "language"})
        return _profile_page(user, profile_form=form), 400
    db.session.commit()
    flash(_("Your profile is saved."), "success")
    return redirect(url_for("auth.profile"), 303)


@blueprint.post("/profile/password")
@staff_required()
@limiter.limit(_account_limit, key_func=_user_key, deduct_when=_failed)
def change_password():
    """Change one's own password, given the current one; other sessions end."""
    user = console_user()
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _profile_page(user, password_form=form), 400
    try:
        ended = passwords.change_password(user, form.current_password.data,
                                          form.new_password.data)
    except InvalidInput as error:
        db.session.rollback()
        if "current_password" in (error.errors or {}):
            g.auth_failed = True
            form.current_password.errors = [_("The current password is not right.")]
        else:
            _show_errors(form, error, {"password": "new_password"})
        return _profile_page(user, password_form=form), 400
    db.session.commit()
    flash(ngettext("Your password is changed. %(num)d other session was signed out.",
                   "Your password is changed. %(num)d other sessions were signed out.", ended)
          if ended else _("Your password is changed."), "success")
    return redirect(url_for("auth.profile"), 303)


@blueprint.post("/profile/sessions/end-others")
@staff_required()
def end_other_sessions():
    """Sign out everywhere but here (a lost phone, a shared computer)."""
    ended = sessions.end_other_sessions(console_user().id)
    db.session.commit()
    flash(ngettext("%(num)d other session was signed out.",
                   "%(num)d other sessions were signed out.", ended)
          if ended else _("There were no other sessions."), "success")
    return redirect(url_for("auth.profile"), 303)
