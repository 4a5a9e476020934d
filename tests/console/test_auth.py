"""Console sign-in and sign-out, sessions and cookies, rate limits, language, password reset."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from service.auth.models import StaffSession
from service.db_types import utcnow
from service.extensions import db
from service.notify.models import OutboundMail

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_META_CSRF = re.compile(r'<meta name="csrf-token" content="[^"]*">')


def csrf_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def without_tokens(html: str) -> str:
    """A page with its CSRF tokens blanked, to compare two answers byte for byte."""
    return _META_CSRF.sub("", _CSRF.sub('name="csrf_token" value=""', html))


def sign_in(client, email: str, password: str = PASSWORD, next_url: str | None = None,
            **kwargs):
    """Fetch the sign-in page, read its token, post the form (as a browser does)."""
    page = client.get("/console/login", **kwargs)
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "email": email,
            "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/console/login", data=data, **kwargs)


def session_of(app, client) -> dict:
    """The decoded contents of the client's session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def signed_in(client) -> bool:
    response = client.get("/console/profile")
    assert response.status_code in (200, 302)
    return response.status_code == 200


# ---- signing in ----

def test_the_sign_in_page_has_a_form_and_the_language_switch(client):
    response = client.get("/console/login")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="email"' in html and 'name="password"' in html
    assert 'for="email"' in html and 'for="password"' in html  # labelled inputs
    assert 'action="/console/language"' in html
    assert 'href="/console/password/forgot"' in html


def test_full_sign_in_through_the_form(app, client, make_user):
    agent = make_user("agent", email="ada@staff.test")
    response = sign_in(client, "  Ada@Staff.test ", headers={"User-Agent": "Firefox/130"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/"
    assert signed_in(client)
    row = db.session.scalar(select(StaffSession).where(StaffSession.user_id == agent.id))
    assert row.ip == "127.0.0.1" and row.user_agent == "Firefox/130" and row.ended_at is None


def test_wrong_password_unknown_email_disabled_and_partner_get_the_same_answer(
        client, make_user):
    make_user("agent", email="known@staff.test")
    make_user("agent", email="disabled@staff.test", is_active=False)
    make_user("partner", email="partner@staff.test")
    answers = []
    for email, password in (("known@staff.test", "wrong password!"),
                            ("nobody@staff.test", PASSWORD),
                            ("disabled@staff.test", PASSWORD),
                            ("partner@staff.test", PASSWORD)):
        response = sign_in(client, email, password)
        assert response.status_code == 401
        html = without_tokens(response.get_data(as_text=True)).replace(email, "EMAIL")
        answers.append(html)
        assert not signed_in(client)
    assert "or this account may not sign in here" in answers[0]
    assert all(answer == answers[0] for answer in answers)
    assert db.session.scalar(select(StaffSession.id)) is None


@pytest.mark.parametrize("data", [
    {},
    {"email": "", "password": ""},
    {"email": "not-an-address", "password": PASSWORD},
    {"email": "a@b.test", "password": "x" * 5000},
    {"email": "é" * 300 + "@staff.test", "password": PASSWORD},
    {"email": "a@b.test\x00", "password": "\x00"},
    {"email": ["not-an-address", "a@b.test"], "password": PASSWORD},
])
def test_bad_sign_in_forms_are_shown_again_with_messages(client, data):
    token = csrf_of(client.get("/console/login").get_data(as_text=True))
    response = client.post("/console/login", data={"csrf_token": token, **data})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="field-error"' in html and 'aria-invalid="true"' in html
    assert not signed_in(client)


def test_sign_in_without_csrf_token_is_refused(client, make_user):
    agent = make_user("agent")
    client.get("/console/login")
    response = client.post("/console/login", data={"email": agent.email, "password": PASSWORD})
    assert response.status_code == 400
    assert not signed_in(client)


def test_signed_in_users_are_sent_on_from_the_sign_in_page(client, make_user, console_login):
    console_login(client, make_user("agent"))
    response = client.get("/console/login?next=/console/profile")
    assert response.status_code == 302 and response.headers["Location"] == "/console/profile"
    response = client.get("/console/login?next=//evil.example")
    assert response.headers["Location"] == "/console/"


def test_a_safe_next_is_followed(client, make_user):
    agent = make_user("agent")
    page = client.get("/console/login?next=/console/profile%3Ftab%3D1")
    assert 'value="/console/profile?tab=1"' in page.get_data(as_text=True)
    response = sign_in(client, agent.email, next_url="/console/profile?tab=1")
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/profile?tab=1"


@pytest.mark.parametrize("target", [
    "//evil.com", "///evil.com", "https://evil.com", "http:evil.com", "/\\evil.com",
    "\\\\evil.com", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "/\t/evil.com",
    "/\r\n/evil.com", " //evil.com", "evil.com", "", "/" + "a" * 3000,
    "data:text/html,<script>alert(1)</script>", "/%0d%0aSet-Cookie:x=1\r\n",
])
def test_open_redirects_are_refused(client, make_user, target):
    agent = make_user("agent")
    page = client.get("/console/login", query_string={"next": target})
    assert page.status_code == 200
    # Not even kept in the sign-in form.
    assert '<input id="next" name="next" type="hidden" value="">' in page.get_data(as_text=True)
    response = sign_in(client, agent.email, next_url=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/"


def test_sign_in_starts_a_new_session_and_drops_the_old_cookie(app, client, make_user):
    agent = make_user("agent")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        session["sid"] = "fixated-session-id"
    assert sign_in(client, agent.email).status_code == 303
    first = session_of(app, client)
    assert "planted" not in first and first["sid"] != "fixated-session-id"
    token = csrf_of(client.get("/console/profile").get_data(as_text=True))
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    assert sign_in(client, agent.email).status_code == 303
    second = session_of(app, client)
    assert second["sid"] != first["sid"]
    rows = db.session.scalars(select(StaffSession).where(StaffSession.user_id == agent.id)
                              .order_by(StaffSession.id)).all()
    assert len(rows) == 2 and rows[0].ended_at is not None and rows[1].ended_at is None


def test_signing_in_over_a_session_ends_the_previous_one(app, client, make_user):
    first, second = make_user("agent"), make_user("agent")
    sign_in(client, first.email)
    copied = client.get_cookie("session").value
    token = csrf_of(client.get("/console/profile").get_data(as_text=True))
    response = client.post("/console/login", data={"csrf_token": token, "email": second.email,
                                                    "password": PASSWORD})
    assert response.status_code == 303
    assert f"{second.name}" in client.get("/console/profile").get_data(as_text=True)
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert not signed_in(thief)


# ---- signing out ----

def test_sign_out_ends_the_session_for_a_copied_cookie(app, client, make_user):
    agent = make_user("agent")
    sign_in(client, agent.email)
    copied = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert signed_in(thief)
    token = csrf_of(client.get("/console/profile").get_data(as_text=True))
    response = client.post("/console/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/console/login"
    assert "You have signed out." in client.get("/console/login").get_data(as_text=True)
    assert not signed_in(client)
    assert not signed_in(thief)


def test_sign_out_needs_post_and_a_csrf_token(client, make_user, console_login):
    console_login(client, make_user("agent"))
    assert client.get("/console/logout").status_code == 405
    assert client.post("/console/logout").status_code == 400
    assert signed_in(client)


def test_signing_out_when_signed_out_just_shows_sign_in(client):
    token = csrf_of(client.get("/console/login").get_data(as_text=True))
    response = client.post("/console/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/console/login"


# ---- cookies ----

TLS = {"base_url": "https://localhost",
       # Flask-WTF wants a same-origin Referer on HTTPS posts; browsers send one.
       "headers": {"Referer": "https://localhost/"}}


def test_session_cookie_is_secure_httponly_and_lax_over_tls(client, make_user):
    agent = make_user("agent")
    response = sign_in(client, agent.email, **TLS)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_over_plain_http_is_not_secure(client, make_user):
    agent = make_user("agent")
    cookie = sign_in(client, agent.email).headers["Set-Cookie"]
    assert "; HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


@pytest.mark.parametrize("app_config", [{"SESSION_COOKIE_SECURE": True}])
def test_session_cookie_secure_by_configuration(client):
    response = client.get("/console/login")
    assert "; Secure" in response.headers["Set-Cookie"]


# ---- language ----

def test_language_switch_when_signed_out(client):
    token = csrf_of(client.get("/console/login").get_data(as_text=True))
    response = client.post("/console/language", data={
        "csrf_token": token, "language": "zh_CN", "next": "/console/login?next=/console/"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/login?next=/console/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=zh_CN") and "HttpOnly" in cookie
    assert 'lang="zh-CN"' in client.get("/console/login").get_data(as_text=True)


def test_language_switch_saves_the_profile_when_signed_in(client, make_user, console_login):
    agent = make_user("agent")
    console_login(client, agent)
    response = client.post("/console/language", **TLS, data={
        "csrf_token": client.csrf_token, "language": "zh_CN", "next": "https://evil.com"})
    assert response.status_code == 303 and response.headers["Location"] == "/console/"
    assert "; Secure" in response.headers["Set-Cookie"]
    db.session.refresh(agent)
    assert agent.locale == "zh_CN"


@pytest.mark.parametrize("language", ["fr", "", "zh_CN\x00", "x" * 1000])
def test_unknown_languages_change_nothing(client, make_user, console_login, language):
    agent = make_user("agent")
    console_login(client, agent)
    response = client.post("/console/language", data={
        "csrf_token": client.csrf_token, "language": language, "next": "/console/profile"})
    assert response.status_code == 303 and response.headers["Location"] == "/console/profile"
    assert "lang=" not in response.headers.get("Set-Cookie", "")
    db.session.refresh(agent)
    assert agent.locale == "en"


def test_language_switch_needs_a_csrf_token(client):
    client.get("/console/login")
    assert client.post("/console/language", data={"language": "zh_CN"}).status_code == 400


# ---- rate limits ----

class TestRateLimits:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                "RATELIMIT_LOGIN_ACCOUNT": "3 per 15 minutes",
                "RATELIMIT_LOGIN_CLIENT": "5 per 15 minutes",
                "RATELIMIT_PUBLIC": "2 per minute"}

    def test_failures_per_account_are_limited(self, app, client, make_user):
        agent = make_user("agent", email="target@staff.test")
        for _ in range(3):
            assert sign_in(client, "target@staff.test", "guess guess").status_code == 401
        # Even the right password waits now: the limit is on the account.
        response = sign_in(client, "TARGET@staff.test", PASSWORD)
        assert response.status_code == 429
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert "Too many attempts. Please try again in 15 minutes." in html
        assert 'name="password"' in html  # still the sign-in page
        assert 0 < int(response.headers["Retry-After"]) <= 900
        assert not signed_in(client)
        # Another account from the same client is not affected.
        other = make_user("agent")
        assert sign_in(client, other.email).status_code == 303
        assert agent.id

    def test_only_failures_count(self, app, client, make_user):
        agent = make_user("agent")
        for _ in range(6):
            assert sign_in(app.test_client(), agent.email).status_code == 303
        for _ in range(3):
            assert sign_in(client, agent.email, "wrong wrong").status_code == 401
        assert sign_in(client, agent.email).status_code == 429

    def test_form_errors_do_not_count(self, client, make_user):
        agent = make_user("agent")
        token = csrf_of(client.get("/console/login").get_data(as_text=True))
        for _ in range(5):
            response = client.post("/console/login", data={"csrf_token": token,
                                                            "email": agent.email})
            assert response.status_code == 400
        assert sign_in(client, agent.email).status_code == 303

    def test_failures_per_client_are_limited_even_with_a_forged_forwarded_for(
            self, app, client, make_user):
        agent = make_user("agent")
        for number in range(5):
            response = sign_in(client, f"nobody{number}@staff.test",
                               headers={"X-Forwarded-For": f"203.0.113.{number}"})
            assert response.status_code == 401
        response = sign_in(client, agent.email, headers={"X-Forwarded-For": "198.51.100.7"})
        assert response.status_code == 429
        assert "Too many attempts" in response.get_data(as_text=True)
        # A different peer (the socket address) is a different client.
        elsewhere = app.test_client()
        response = sign_in(elsewhere, agent.email,
                           environ_base={"REMOTE_ADDR": "192.0.2.10"})
        assert response.status_code == 303

    def test_password_reset_requests_are_limited_per_client(self, client, make_user):
        agent = make_user("agent")
        token = csrf_of(client.get("/console/password/forgot").get_data(as_text=True))
        for number in range(2):
            response = client.post("/console/password/forgot", data={
                "csrf_token": token, "email": f"someone{number}@staff.test"},
                headers={"X-Forwarded-For": f"203.0.113.{number}"})
            assert response.status_code == 303
        response = client.post("/console/password/forgot", data={
            "csrf_token": token, "email": agent.email})
        assert response.status_code == 429
        assert "Too many attempts" in response.get_data(as_text=True)
        assert db.session.scalar(select(OutboundMail.id)) is None

    def test_wrong_current_passwords_are_limited(self, client, make_user, console_login):
        agent = make_user("agent")
        console_login(client, agent)
        data = {"csrf_token": client.csrf_token, "new_password": "another good one",
                "confirm_password": "another good one"}
        for _ in range(3):
            response = client.post("/console/profile/password",
                                   data={**data, "current_password": "not it at all"})
            assert response.status_code == 400
        response = client.post("/console/profile/password",
                               data={**data, "current_password": PASSWORD})
        assert response.status_code == 429
        assert "Too many attempts" in response.get_data(as_text=True)
        old_hash = agent.password_hash
        db.session.refresh(agent)
        assert agent.password_hash == old_hash


# ---- password reset ----

def request_reset(client, email: str):
    token = csrf_of(client.get("/console/password/forgot").get_data(as_text=True))
    return client.post("/console/password/forgot", data={"csrf_token": token, "email": email})


def reset_mails(to_address: str) -> list[OutboundMail]:
    return list(db.session.scalars(select(OutboundMail).where(
        OutboundMail.to_address == to_address,
        OutboundMail.dedupe_key.like("password-reset:%")).order_by(OutboundMail.id)))


def link_path(mail: OutboundMail) -> str:
    match = re.search(r"http://support\.test(/console/password/reset/\S+)", mail.body_text)
    assert match, mail.body_text
    return match.group(1)


def reset_entries(user) -> list:
    from service.audit.models import AuditEntry

    return db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "auth.password_reset", AuditEntry.object_id == str(user.id),
        AuditEntry.actor_user_id == user.id)).all()


def test_password_reset_end_to_end(app, client, make_user, console_login):
    agent = make_user("agent", email="forgetful@staff.test", name="Forgetful Fay")
    elsewhere = console_login(app.test_client(), agent)
    response = request_reset(client, "Forgetful@Staff.test")
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/password/forgot/sent"
    [mail] = reset_mails("forgetful@staff.test")
    assert "Forgetful Fay" in mail.body_text and "60 minutes" in mail.body_text
    path = link_path(mail)

    page = client.get(path)
    assert page.status_code == 200
    # Only our origin may ever be named in a Referer from here, never the token's path.
    assert page.headers["Referrer-Policy"] == "strict-origin"
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert '<meta name="referrer" content="strict-origin">' in html
    assert html.count('name="referrer"') == 1
    assert "forgetful@staff.test" in html
    token = csrf_of(html)

    mismatch = client.post(path, data={"csrf_token": token, "new_password": "new secret one",
                                       "confirm_password": "new secret two"})
    assert mismatch.status_code == 400
    assert "The two passwords are not the same." in mismatch.get_data(as_text=True)
    assert mismatch.headers["Referrer-Policy"] == "strict-origin"
    short = client.post(path, data={"csrf_token": token, "new_password": "short",
                                    "confirm_password": "short"})
    assert short.status_code == 400
    old_hash = agent.password_hash
    db.session.refresh(agent)
    assert agent.password_hash == old_hash  # nothing written
    assert reset_entries(agent) == []

    done = client.post(path, data={"csrf_token": token, "new_password": "new secret one",
                                   "confirm_password": "new secret one"})
    assert done.status_code == 303 and done.headers["Location"] == "/console/login"
    assert len(reset_entries(agent)) == 1  # the audit log names whose password was reset
    assert "Your password is changed" in client.get("/console/login").get_data(as_text=True)
    assert not signed_in(elsewhere)  # every session ended
    assert sign_in(client, agent.email, PASSWORD).status_code == 401
    assert sign_in(client, agent.email, "new secret one").status_code == 303

    reused = client.get(path)
    assert reused.status_code == 410
    assert "already used" in reused.get_data(as_text=True)


def test_reset_form_works_over_tls_with_the_origin_only_referer(client, make_user):
    agent = make_user("agent", email="tls@staff.test")
    request_reset(client, "tls@staff.test")
    path = link_path(reset_mails("tls@staff.test")[0])
    page = client.get(path, base_url="https://localhost")
    # What a browser sends under strict-origin: the origin, not the page's path.
    done = client.post(path, base_url="https://localhost",
                       headers={"Referer": "https://localhost/"},
                       data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                             "new_password": "new secret one",
                             "confirm_password": "new secret one"})
    assert done.status_code == 303
    assert sign_in(client, agent.email, "new secret one").status_code == 303


def test_the_answer_is_the_same_for_known_and_unknown_addresses(app, make_user):
    make_user("agent", email="real@staff.test")
    make_user("agent", email="off@staff.test", is_active=False)
    pages = []
    for email in ("real@staff.test", "ghost@staff.test", "off@staff.test"):
        client = app.test_client()
        response = request_reset(client, email)
        assert response.status_code == 303
        follow = client.get(response.headers["Location"])
        pages.append((response.status_code, response.headers["Location"],
                      response.get_data(), follow.status_code,
                      without_tokens(follow.get_data(as_text=True))))
    assert pages[0] == pages[1] == pages[2]
    assert len(reset_mails("real@staff.test")) == 1
    assert reset_mails("ghost@staff.test") == [] and reset_mails("off@staff.test") == []


def test_no_link_for_a_user_without_a_password(client, make_user):
    agent = make_user("agent", email="sso@staff.test")
    agent.password_hash = None
    db.session.commit()
    assert request_reset(client, "sso@staff.test").status_code == 303
    assert reset_mails("sso@staff.test") == []


@pytest.mark.parametrize("email", ["", "not an address", "x" * 400 + "@a.test"])
def test_bad_reset_requests_are_shown_again(client, email):
    response = request_reset(client, email)
    assert response.status_code == 400
    assert 'class="field-error"' in response.get_data(as_text=True)


def test_each_request_mails_its_own_link(client, make_user):
    make_user("agent", email="twice@staff.test")
    request_reset(client, "twice@staff.test")
    request_reset(client, "twice@staff.test")
    assert len(reset_mails("twice@staff.test")) == 2


def test_reset_link_expires(client, make_user, app):
    make_user("agent", email="late@staff.test")
    request_reset(client, "late@staff.test")
    path = link_path(reset_mails("late@staff.test")[0])
    later = utcnow() + timedelta(minutes=app.config["PASSWORD_RESET_MINUTES"] + 1)
    with time_machine.travel(later, tick=False):
        response = client.get(path)
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "strict-origin"


def test_reset_link_dies_when_the_password_changes(client, make_user):
    from service.auth.services import set_password

    agent = make_user("agent", email="changed@staff.test")
    request_reset(client, "changed@staff.test")
    path = link_path(reset_mails("changed@staff.test")[0])
    set_password(agent, "changed by an admin")
    db.session.commit()
    assert client.get(path).status_code == 410


def test_reset_link_of_a_disabled_user_is_dead(client, make_user):
    agent = make_user("agent", email="gone@staff.test")
    request_reset(client, "gone@staff.test")
    path = link_path(reset_mails("gone@staff.test")[0])
    agent.is_active = False
    db.session.commit()
    assert client.get(path).status_code == 410


def test_tampered_and_foreign_tokens_are_refused(app, client, make_user):
    from itsdangerous import URLSafeTimedSerializer

    make_user("agent", email="tamper@staff.test")
    request_reset(client, "tamper@staff.test")
    path = link_path(reset_mails("tamper@staff.test")[0])
    token = path.rsplit("/", 1)[1]
    # Not the last character: its low bits may be base64 padding that decodes the same.
    flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    other_salt = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")
    for bad in (flipped, "garbage", "a" * 5000, other_salt.dumps({"u": 1, "f": "x"}),
                "%E2%80%AE", "..%2E"):
        response = client.get(f"/console/password/reset/{bad}")
        assert response.status_code == 400, bad
        assert "not valid" in response.get_data(as_text=True)
    token_page = client.get(path)
    posted = client.post(f"/console/password/reset/{flipped}", data={
        "csrf_token": csrf_of(token_page.get_data(as_text=True)),
        "new_password": "new secret one", "confirm_password": "new secret one"})
    assert posted.status_code == 400


def test_reset_post_needs_a_csrf_token(client, make_user):
    make_user("agent", email="csrf@staff.test")
    request_reset(client, "csrf@staff.test")
    path = link_path(reset_mails("csrf@staff.test")[0])
    response = client.post(path, data={"new_password": "new secret one",
                                       "confirm_password": "new secret one"})
    assert response.status_code == 400
    assert client.get(path).status_code == 200  # still unused


def test_reset_mail_is_rendered_in_the_users_language(client, make_user, monkeypatch):
    from flask_babel import get_locale

    import service.auth.passwords as passwords

    seen = []
    real = passwords.render_template

    def spy(name, **context):
        seen.append((name, get_locale().language))
        return real(name, **context)

    monkeypatch.setattr(passwords, "render_template", spy)
    make_user("agent", email="zh@staff.test", locale="zh_CN")
    request_reset(client, "zh@staff.test")
    assert seen and all(language == "zh" for _name, language in seen)
