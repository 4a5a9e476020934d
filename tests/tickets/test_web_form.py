"""The public web form /support/new and the portal page it leads to."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from service.extensions import db
from service.notify.models import OutboundMail
from tickets.models import Channel, Ticket


def csrf_and_submission(page: bytes) -> dict[str, str]:
    html = page.decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    submission = re.search(r'name="submission_id"[^>]*value="([0-9a-f]{32})"', html).group(1)
    return {"csrf_token": token, "submission_id": submission}


def form_data(client, lang="en", **overrides) -> dict[str, str]:
    page = client.get(f"/support/new?lang={lang}")
    data = {**csrf_and_submission(page.data), "name": "Zhang San",
            "email": "zhang.san@example.cn", "subject": "打印机无法连接",
            "description": "今天早上开始打印机无法连接。", "urgency": "high", "product": "Printer"}
    data.update(overrides)
    return data


def ticket_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))


def test_form_renders_in_both_languages(client):
    from flask_babel import refresh

    english = client.get("/support/new?lang=en")
    assert english.status_code == 200
    assert b"Submit a request" in english.data
    refresh()  # the test keeps one app context, where Flask-Babel caches the locale
    chinese = client.get("/support/new?lang=zh_CN")
    assert "提交" in chinese.data.decode()
    assert 'lang="zh-CN"' in chinese.data.decode()
    # The choice sticks through a cookie.
    refresh()
    assert 'lang="zh-CN"' in client.get("/support/new").data.decode()
    # Works without JavaScript: no inline script (the article suggestions load a file that
    # only improves the form).
    assert not re.search(rb"<script(?![^>]*\bsrc=)", english.data)


def test_submit_creates_ticket_and_shows_portal(client, make_user, support_team):
    agent = make_user("agent", team=support_team)
    response = client.post("/support/new?lang=zh_CN", data=form_data(client, lang="zh_CN"))
    assert response.status_code == 303
    ticket = db.session.scalar(select(Ticket))
    assert ticket.channel == Channel.WEB and ticket.language == "zh"
    assert ticket.priority.value == "high" and ticket.assignee_id == agent.id
    assert ticket.first_response_due_at is not None
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    text = page.data.decode()
    assert ticket.number in text and "打印机无法连接" in text
    # Only our origin may reach a Referer (portal URLs can hold a token); not no-referrer,
    # which would make Flask-WTF refuse the portal's forms over HTTPS.
    assert page.headers["Referrer-Policy"] == "strict-origin"
    assert page.headers["Cache-Control"] == "no-store"
    ack = db.session.scalar(select(OutboundMail))
    assert ack.to_address == "zhang.san@example.cn"
    assert ticket.number in ack.subject
    assert "今天早上" not in ack.body_text  # the customer's text is never echoed
    assert "http://support.test/portal/tickets/" in ack.body_text


def test_double_submit_makes_one_ticket(client):
    data = form_data(client)
    first = client.post("/support/new", data=data)
    second = client.post("/support/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert ticket_count() == 1


def test_missing_csrf_token_is_refused(client):
    data = form_data(client)
    del data["csrf_token"]
    response = client.post("/support/new", data=data)
    assert response.status_code == 400
    assert ticket_count() == 0


@pytest.mark.parametrize("field, value", [
    ("email", ""), ("email", "not-an-email"), ("subject", ""), ("subject", "x" * 201),
    ("description", ""), ("urgency", "critical"), ("phone", "call me maybe"),
    ("submission_id", "../../etc"),
])
def test_bad_input_shows_the_form_again_with_messages(client, field, value):
    response = client.post("/support/new", data=form_data(client, **{field: value}))
    assert response.status_code == 400
    html = response.data.decode()
    assert 'class="field-error"' in html or 'class="form-errors"' in html
    assert 'value="Zhang San"' in html  # what the customer typed is kept
    assert ticket_count() == 0


def test_user_text_is_escaped_on_the_portal(client):
    data = form_data(client, subject="<script>alert(1)</script>",
                     description="<img src=x onerror=alert(1)>")
    location = client.post("/support/new", data=data).headers["Location"]
    html = client.get(location).data.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert "<img src=x" not in html


def test_portal_link_is_signed(app, client):
    client.post("/support/new", data=form_data(client))
    ack = db.session.scalar(select(OutboundMail))
    token = re.search(r"/portal/tickets/([A-Za-z0-9_.\-]+)", ack.body_text).group(1)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    stranger = app.test_client()  # not the browser that submitted the form
    assert stranger.get(f"/portal/tickets/{tampered}").status_code == 404
    assert stranger.get("/portal/tickets/garbage").status_code == 404
    opened = stranger.get(f"/portal/tickets/{token}")
    assert opened.status_code == 200 and "T-000001" in opened.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_form_is_rate_limited(client):
    from service.extensions import limiter

    limiter.reset()
    codes = [client.post("/support/new", data=form_data(client, email=f"u{n}@example.com"))
             .status_code for n in range(25)]
    assert codes.count(303) == 20
    assert codes[-1] == 429
    limiter.reset()


def test_pages_and_errors_never_500(client):
    assert client.get("/").status_code == 200
    assert client.get("/nowhere").status_code == 404
    assert b"Not found" in client.get("/nowhere").data
    assert client.post("/support/new", data=b"\xff\xfe",
                       content_type="application/x-www-form-urlencoded").status_code == 400
