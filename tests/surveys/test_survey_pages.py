"""The public survey pages: one-click scores that a GET never records, the rest of the
answer, the 404/410/409 pages, staff refused, no portal session, no token in logs or in the
admins' view of the mail."""
from __future__ import annotations

import logging
import re
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from werkzeug.serving import make_server

from service.db_types import utcnow
from service.extensions import db
from surveys.invitations import is_opted_out
from surveys.models import Invitation, InvitationStatus, SurveyResponse
from tests.surveys.test_sending import mail_of, sent_nps, sent_survey

UA = "Mozilla/5.0 (iPhone) Mobile Safari"


@pytest.fixture
def survey(make_ticket):
    """A CSAT mailed two hours ago: (invitation, token)."""
    return sent_survey(make_ticket, at=utcnow() - timedelta(hours=3),
                       subject="VPN drops every hour")


def csrf_of(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text).group(1)


def responses() -> int:
    return db.session.scalar(select(func.count()).select_from(SurveyResponse))


def fresh(invitation: Invitation) -> Invitation:
    db.session.expire_all()
    return db.session.get(Invitation, invitation.id)


def answer(client, token: str, **fields):
    """Post the survey form as the page gives it (its CSRF token), with `fields`."""
    page = client.get(f"/s/{token}")
    return client.post(f"/s/{token}", data={"csrf_token": csrf_of(page.data), **fields},
                       headers={"User-Agent": UA},
                       environ_base={"REMOTE_ADDR": "203.0.113.7"})


# ---- the one-click link ----

def test_a_one_click_link_shows_the_score_and_records_nothing(client, survey):
    invitation, token = survey
    page = client.get(f"/s/{token}?score=4", headers={"User-Agent": UA})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*value="4"|<input[^>]*value="4"[^>]*checked', html)
    assert html.count('type="submit"') == 1 and "Confirm my score" in html
    assert 'name="step" type="hidden" value="score"' in html
    assert "VPN drops every hour" in html and "T-0000" in html
    assert responses() == 0
    opened = fresh(invitation)
    assert opened.status == InvitationStatus.SENT and opened.opened_at is not None
    first_open = opened.opened_at
    client.get(f"/s/{token}?score=2")
    assert fresh(invitation).opened_at == first_open  # the first view only
    assert responses() == 0


def test_a_link_checkers_head_request_records_nothing(client, survey):
    invitation, token = survey
    assert client.head(f"/s/{token}?score=5").status_code == 200
    assert fresh(invitation).opened_at is None and responses() == 0


def test_the_pages_are_private_and_unindexed(client, survey):
    _invitation, token = survey
    for path in (f"/s/{token}", f"/s/{token}/unsubscribe", "/s/nonsense"):
        page = client.get(path)
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "strict-origin"
        assert "noindex" in page.headers["X-Robots-Tag"]
        assert b'<meta name="referrer" content="strict-origin">' in page.data
        assert b"<script" not in page.data


def test_confirming_the_score_then_adding_the_rest(client, survey):
    invitation, token = survey
    page = client.get(f"/s/{token}?score=2")
    confirmed = client.post(f"/s/{token}", data={"csrf_token": csrf_of(page.data),
                                                 "step": "score", "score": "2"},
                            headers={"User-Agent": UA},
                            environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == f"/s/{token}"
    response = db.session.scalar(select(SurveyResponse))
    assert response.score == 2 and response.ip == "203.0.113.7" and response.user_agent == UA
    assert fresh(invitation).status == InvitationStatus.ANSWERED

    rest = client.get(f"/s/{token}")
    html = rest.get_data(as_text=True)
    assert rest.status_code == 200 and "your answer is saved" in html
    for label in ("Service attitude", "Resolution efficiency", "Final outcome"):
        assert label in html
    done = answer(client, token, step="details", score="2", attitude="4", efficiency="1",
                  outcome="2", comment="  The fix took three days.  ")
    assert done.status_code == 200 and b"Thank you for your feedback" in done.data
    db.session.expire_all()
    saved = db.session.scalar(select(SurveyResponse))
    assert responses() == 1
    assert (saved.score, saved.attitude, saved.efficiency, saved.outcome, saved.comment) == (
        2, 4, 1, 2, "The fix took three days.")
    # The page shows what was given, for changes within the day.
    again = client.get(f"/s/{token}").get_data(as_text=True)
    assert "The fix took three days." in again


def test_the_nps_page_asks_for_the_reason(client, make_ticket):
    invitation, token = sent_nps(make_ticket().contact_id, at=utcnow() - timedelta(hours=1))
    page = client.get(f"/s/{token}?score=9").get_data(as_text=True)
    assert "How likely are you to recommend us to a friend or colleague?" in page
    assert answer(client, token, step="score", score="9").status_code == 303
    rest = client.get(f"/s/{token}").get_data(as_text=True)
    assert "What is the main reason for your score?" in rest
    assert "Service attitude" not in rest
    assert answer(client, token, step="details", score="10", comment="Great").status_code == 200
    db.session.expire_all()
    saved = db.session.scalar(select(SurveyResponse))
    assert (saved.score, saved.comment) == (10, "Great")


# ---- bad input ----

@pytest.mark.parametrize("fields,message", [
    ({"step": "score", "score": "7"}, "Choose a score from 1 to 5."),
    ({"step": "score", "score": "abc"}, "Choose a score from 1 to 5."),
    ({"step": "score"}, "Please choose a score."),
    ({"step": "details", "score": "3", "attitude": "9"}, "Choose a score from 1 to 5."),
    ({"step": "details", "score": "3", "comment": "x" * 4001}, "4000"),
    ({"step": "sideways", "score": "3"}, "Reload the page."),
])
def test_bad_form_input_shows_the_form_again(client, survey, fields, message):
    invitation, token = survey
    page = answer(client, token, **fields)
    assert page.status_code == 400
    assert message in page.get_data(as_text=True)
    assert b"Please correct the marked answers." in page.data
    assert responses() == 0 and fresh(invitation).status == InvitationStatus.SENT


def test_a_post_without_csrf_token_shows_the_form_again(client, survey):
    invitation, token = survey
    page = client.post(f"/s/{token}", data={"step": "score", "score": "5"})
    assert page.status_code == 400
    assert b"The form has expired" in page.data and b'name="csrf_token"' in page.data
    assert responses() == 0 and fresh(invitation).status == InvitationStatus.SENT


# ---- wrong, expired and locked links ----

@pytest.mark.parametrize("path", ["/s/" + "A" * 43, "/s/short", "/s/" + "x" * 300,
                                  "/s/%E2%80%8B", "/s/" + "A" * 43 + "/unsubscribe"])
def test_unknown_links_get_the_404_page(client, survey, path):
    for method in (client.get, client.post):
        page = method(path)
        assert page.status_code == 404
        assert b"This link does not work" in page.data
    assert responses() == 0


def test_an_expired_link_gets_the_410_page(client, survey):
    invitation, token = survey
    with time_machine.travel(invitation.expires_at + timedelta(seconds=1), tick=False):
        assert client.get(f"/s/{token}?score=5").status_code == 410
        page = client.post(f"/s/{token}", data={"step": "score", "score": "5"})
        assert page.status_code == 410 and b"This survey has closed" in page.data
        # Unsubscribing still works from an old mail.
        assert client.get(f"/s/{token}/unsubscribe").status_code == 200
    assert responses() == 0


def test_an_answer_is_editable_for_a_day_then_locked(client, survey):
    invitation, token = survey
    assert answer(client, token, step="score", score="1").status_code == 303
    edit_until = db.session.scalar(select(SurveyResponse.edit_until))
    with time_machine.travel(edit_until - timedelta(minutes=1), tick=False):
        assert answer(client, token, step="score", score="3").status_code == 303
    assert responses() == 1 and db.session.scalar(select(SurveyResponse.score)) == 3
    with time_machine.travel(edit_until + timedelta(seconds=1), tick=False):
        page = client.get(f"/s/{token}?score=5")
        assert page.status_code == 409 and b"can no longer be changed" in page.data
        assert client.post(f"/s/{token}", data={"score": "5"}).status_code == 409
    db.session.expire_all()
    assert db.session.scalar(select(SurveyResponse.score)) == 3


# ---- who may answer ----

def test_a_staff_session_is_refused_and_nothing_is_recorded(client, survey, make_user,
                                                            console_login):
    invitation, token = survey
    console_login(client, make_user("agent"))
    page = client.get(f"/s/{token}?score=5")
    assert page.status_code == 403
    assert b"Staff cannot answer customer surveys" in page.data
    post = client.post(f"/s/{token}", data={"csrf_token": client.csrf_token,
                                            "step": "score", "score": "5"})
    assert post.status_code == 403
    assert client.post(f"/s/{token}/unsubscribe",
                       data={"csrf_token": client.csrf_token}).status_code == 403
    refused = fresh(invitation)
    assert refused.opened_at is None and refused.status == InvitationStatus.SENT
    assert responses() == 0 and not is_opted_out(invitation.contact_id)


def test_a_survey_link_never_opens_the_portal(client, survey):
    _invitation, token = survey
    assert answer(client, token, step="score", score="5").status_code == 303
    with client.session_transaction() as session:
        assert "portal" not in session
    portal = client.get("/portal")
    assert portal.status_code in (302, 303) and "/portal/login" in portal.headers["Location"]


# ---- language ----

def test_the_page_speaks_the_invitations_language_unless_the_visitor_chooses(
        client, make_ticket):
    _invitation, token = sent_survey(make_ticket, at=utcnow() - timedelta(hours=1),
                                     language="zh")
    assert b'<html lang="zh-CN">' in client.get(f"/s/{token}").data
    english = client.get(f"/s/{token}?score=3&lang=en")
    assert b'<html lang="en">' in english.data
    assert b"score=3&amp;lang=zh_CN" in english.data  # the switch keeps the score
    assert b'<html lang="en">' in client.get(f"/s/{token}").data  # the cookie remembers


# ---- unsubscribe ----

def test_unsubscribe_asks_then_opts_out(client, survey):
    invitation, token = survey
    page = client.get(f"/s/{token}/unsubscribe")
    assert page.status_code == 200 and not is_opted_out(invitation.contact_id)
    assert client.post(f"/s/{token}/unsubscribe").status_code == 400  # no CSRF token
    assert not is_opted_out(invitation.contact_id)
    done = client.post(f"/s/{token}/unsubscribe", data={"csrf_token": csrf_of(page.data)})
    assert done.status_code == 200 and b"You are unsubscribed" in done.data
    assert is_opted_out(invitation.contact_id)


# ---- tokens stay secret ----

def test_the_token_never_reaches_the_server_log(app, survey, caplog):
    _invitation, token = survey
    db.session.commit()  # the server's requests write beside this session (SQLite)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.INFO, logger="werkzeug")
    caplog.set_level(logging.INFO, logger="loopdesk.access")
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with urllib.request.urlopen(f"{base}/s/{token}?score=4") as page:
            assert page.status == 200
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}/portal/confirm/{'x' * 60}")
    finally:
        server.shutdown()
        thread.join()
    # Our access line replaces werkzeug's (which showed query strings): paths only, masked.
    lines = [record.getMessage() for record in caplog.records
             if record.name in ("werkzeug", "loopdesk.access")]
    assert any(line.startswith("GET /s/… 200") for line in lines), lines
    assert any(line.startswith("GET /portal/confirm/… ") for line in lines), lines
    assert not any(token in line or "x" * 60 in line or "score=" in line for line in lines)


@pytest.mark.parametrize("logged,expected", [
    ("GET /s/{t}?score=4 HTTP/1.1", "GET /s/…?score=4 HTTP/1.1"),
    ("POST /s/{t}/unsubscribe HTTP/1.1", "POST /s/…/unsubscribe HTTP/1.1"),
    ("GET /portal/confirm/{t}.abc HTTP/1.1", "GET /portal/confirm/… HTTP/1.1"),
    ("GET /portal/login/{t} HTTP/1.1", "GET /portal/login/… HTTP/1.1"),
    ("GET /portal/login/sent HTTP/1.1", "GET /portal/login/sent HTTP/1.1"),
    ("GET /portal/tickets/{t}.x HTTP/1.1", "GET /portal/tickets/… HTTP/1.1"),
    ("GET /portal/tickets/T-000123 HTTP/1.1", "GET /portal/tickets/T-000123 HTTP/1.1"),
])
def test_the_log_filter_masks_link_tokens(logged, expected):
    from service.logs import TokenFilter

    token = "Zq" * 21 + "x"
    tuple_record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"%s" %s %s',
                                     (logged.format(t=token), "200", "-"), None)
    assert TokenFilter().filter(tuple_record) is True
    assert tuple_record.getMessage() == f'"{expected}" 200 -'

    class Atoms(dict):  # gunicorn's access atoms answer keys they do not have
        def __missing__(self, key):
            return "-"

    atoms = Atoms(r=logged.format(t=token), s="200")
    dict_record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1,
                                    '"%(r)s" %(s)s %({x-real-ip}i)s', None, None)
    dict_record.args = atoms
    TokenFilter().filter(dict_record)
    assert dict_record.getMessage() == f'"{expected}" 200 -'
    message_record = logging.LogRecord("gunicorn.error", logging.ERROR, __file__, 1,
                                       "Error handling request " + logged.format(t=token),
                                       None, None)
    TokenFilter().filter(message_record)
    assert token not in message_record.getMessage()


def test_admins_see_survey_mail_without_the_link_token(client, survey, make_user,
                                                       console_login, auth):
    invitation, token = survey
    mail = mail_of(invitation.id)
    admin = make_user("admin")
    detail = client.get(f"/api/v1/admin/outbound-mail/{mail.id}", headers=auth(admin))
    assert detail.status_code == 200
    assert token not in detail.json["body_text"] and token not in detail.json["body_html"]
    assert "/s/…?score=5" in detail.json["body_text"]
    console_login(client, admin)
    page = client.get(f"/console/admin/mail/{mail.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert token not in html and "/s/…?score=1" in html and "/s/…/unsubscribe" in html
