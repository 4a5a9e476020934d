"""The user's own profile: details, language, time zone, availability, notices, password,
sessions; and that the notice preferences really stop the mail."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from service.auth.models import Availability, Role, StaffSession
from service.extensions import db
from service.notify.models import Notification, OutboundMail
from tests.console.test_auth import PASSWORD, csrf_of, sign_in, signed_in

STAFF_ROLES = ["admin", "lead", "agent", "department", "sales"]


def profile_data(client, **changes) -> dict:
    """The profile form as the page fills it in, with some fields changed."""
    data = {"csrf_token": client.csrf_token, "name": "Ada Agent", "language": "en",
            "timezone": "", "availability": "available", "notify_ticket_assigned": "y",
            "notify_customer_replied": "y", "notify_sla_alerts": "y",
            "notify_ticket_reopened": "y", "notify_recovery_opened": "y",
            "notify_recovery_overdue": "y", "notify_opportunity_assigned": "y",
            "notify_opportunity_returned": "y"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# ---- access ----

def test_signed_out_users_are_sent_to_sign_in(client):
    response = client.get("/console/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login?next=")
    for path in ("/console/profile", "/console/profile/password",
                 "/console/profile/sessions/end-others"):
        token = csrf_of(client.get("/console/login").get_data(as_text=True))
        response = client.post(path, data={"csrf_token": token, "name": "x"})
        assert response.status_code == 302 and "/console/login" in response.headers["Location"]


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_staff_role_has_a_profile(client, make_user, console_login, role):
    user = make_user(role)
    console_login(client, user)
    response = client.get("/console/profile")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert user.email in html
    assert 'action="/console/profile/password"' in html
    assert 'action="/console/profile/sessions/end-others"' in html


def test_partners_have_no_console_profile(client, make_user, console_login):
    console_login(client, make_user("partner"))
    assert client.get("/console/profile").status_code == 403


def test_profile_posts_need_a_csrf_token(client, make_user, console_login):
    agent = make_user("agent")
    console_login(client, agent)
    for path in ("/console/profile", "/console/profile/password",
                 "/console/profile/sessions/end-others"):
        response = client.post(path, data={"name": "Changed"})
        assert response.status_code == 400
    db.session.refresh(agent)
    assert agent.name != "Changed"


# ---- details and preferences ----

def test_the_form_shows_the_current_values(client, make_user, console_login):
    agent = make_user("agent", timezone="Europe/Berlin", locale="zh_CN",
                      availability=Availability.AWAY,
                      notify_prefs={"sla_alerts": False})
    console_login(client, agent)
    html = client.get("/console/profile").get_data(as_text=True)
    assert '<option selected value="Europe/Berlin">' in html
    assert '<option selected value="zh_CN">' in html
    assert '<option selected value="away">' in html
    assert 'id="notify_sla_alerts" name="notify_sla_alerts" type="checkbox" value="y">' in html
    assert 'checked id="notify_customer_replied"' in html


def test_editing_the_profile(client, make_user, console_login):
    agent = make_user("agent")
    console_login(client, agent)
    response = client.post("/console/profile", data=profile_data(
        client, name="  Ada 中文名  ", language="zh_CN", timezone="America/New_York",
        availability="out_of_office", notify_sla_alerts=None, role="admin",
        email="evil@staff.test", is_active="", max_open_tickets="999"))
    assert response.status_code == 303 and response.headers["Location"] == "/console/profile"
    db.session.refresh(agent)
    assert agent.name == "Ada 中文名"
    assert agent.locale == "zh_CN" and agent.timezone == "America/New_York"
    assert agent.availability == Availability.OUT_OF_OFFICE
    assert agent.notify_prefs == {"ticket_assigned": True, "customer_replied": True,
                                  "sla_alerts": False, "ticket_reopened": True,
                                  "recovery_opened": True, "recovery_overdue": True,
                                  "opportunity_assigned": True, "opportunity_returned": True,
                                  "weekly_report": False}
    # Nothing outside the form changes, however it is posted.
    assert agent.role == Role.AGENT and agent.email.endswith("@staff.test")
    assert agent.email != "evil@staff.test" and agent.is_active
    assert agent.max_open_tickets == 20
    page = client.get("/console/profile").get_data(as_text=True)
    assert 'lang="zh-CN"' in page  # the page now speaks the chosen language
    assert "(America/New_York)" in page  # times are shown in the chosen zone


def test_an_empty_time_zone_means_the_services(client, make_user, console_login):
    agent = make_user("agent", timezone="Europe/Berlin")
    console_login(client, agent)
    response = client.post("/console/profile", data=profile_data(client, timezone=""))
    assert response.status_code == 303
    db.session.refresh(agent)
    assert agent.timezone is None


def test_coming_back_from_out_of_office_triggers_assignment(client, make_user, console_login,
                                                            support_team, make_ticket):
    agent = make_user("agent", team=support_team, availability=Availability.OUT_OF_OFFICE)
    ticket = make_ticket()
    assert ticket.assignee_id is None  # nobody available
    console_login(client, agent)
    client.post("/console/profile", data=profile_data(client, availability="available"))
    db.session.refresh(ticket)
    assert ticket.assignee_id == agent.id


@pytest.mark.parametrize("changes, field, message", [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Please choose a time zone from the list."),
    ({"timezone": "localtime"}, "timezone", "Please choose a time zone from the list."),
    ({"timezone": "x" * 5000}, "timezone", "Please choose a time zone from the list."),
    ({"language": "fr"}, "language", "Please choose English or Chinese."),
    ({"language": None}, "language", "Please choose English or Chinese."),
    ({"availability": "asleep"}, "availability", "Please choose your availability"),
    ({"name": "   "}, "name", "Please enter your name."),
    ({"name": "\x07\x00"}, "name", "Please enter your name."),
    ({"name": "n" * 121}, "name", "Field cannot be longer than 120 characters."),
])
def test_bad_profile_input_is_shown_again_and_nothing_is_written(
        client, make_user, console_login, changes, field, message):
    agent = make_user("agent", name="Before", timezone="Asia/Tokyo")
    console_login(client, agent)
    wanted = {"name": "After", "language": "zh_CN", "notify_sla_alerts": None, **changes}
    response = client.post("/console/profile", data=profile_data(client, **wanted))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert f'id="{field}-error"' in html and 'aria-invalid="true"' in html
    db.session.refresh(agent)
    assert (agent.name, agent.locale, agent.timezone) == ("Before", "en", "Asia/Tokyo")
    assert agent.notify_prefs == {}


def test_a_name_with_control_characters_is_cleaned(client, make_user, console_login):
    agent = make_user("agent")
    console_login(client, agent)
    client.post("/console/profile", data=profile_data(client, name="Ada\x07 Agent"))
    db.session.refresh(agent)
    assert agent.name == "Ada Agent"


# ---- password ----

def password_data(client, current=PASSWORD, new="a much better one", confirm=None) -> dict:
    return {"csrf_token": client.csrf_token, "current_password": current,
            "new_password": new, "confirm_password": new if confirm is None else confirm}


def test_changing_the_password_keeps_this_session_and_ends_the_others(
        app, client, make_user, console_login):
    agent = make_user("agent")
    console_login(client, agent)
    other = console_login(app.test_client(), agent)
    response = client.post("/console/profile/password", data=password_data(client))
    assert response.status_code == 303 and response.headers["Location"] == "/console/profile"
    page = client.get("/console/profile")
    assert page.status_code == 200
    assert "1 other session was signed out." in page.get_data(as_text=True)
    assert not signed_in(other)
    assert sign_in(app.test_client(), agent.email, "a much better one").status_code == 303
    assert sign_in(app.test_client(), agent.email, PASSWORD).status_code == 401


@pytest.mark.parametrize("current, new, confirm, message", [
    ("wrong password", "a much better one", None, "The current password is not right."),
    (PASSWORD, "a much better one", "something else", "The two passwords are not the same."),
    (PASSWORD, "short", None, "Use between 8 and 1024 characters."),
    (PASSWORD, "p" * 1025, None, "Use between 8 and 1024 characters."),
    ("", "a much better one", None, "Please enter your current password."),
])
def test_bad_password_changes_are_refused(client, make_user, console_login, current, new,
                                          confirm, message):
    agent = make_user("agent")
    console_login(client, agent)
    old_hash = agent.password_hash
    response = client.post("/console/profile/password",
                           data=password_data(client, current, new, confirm))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.refresh(agent)
    assert agent.password_hash == old_hash


# ---- sessions ----

def test_open_sessions_are_listed_and_others_can_be_ended(app, client, make_user,
                                                          console_login):
    agent = make_user("agent")
    phone = app.test_client()
    sign_in(phone, agent.email, environ_base={"REMOTE_ADDR": "198.51.100.23"}, headers={
        "User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0"})
    sign_in(client, agent.email, headers={
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"})
    someone_else = make_user("agent")
    console_login(app.test_client(), someone_else)
    html = client.get("/console/profile").get_data(as_text=True)
    assert "198.51.100.23" in html and "Chrome on Android" in html
    assert "Firefox on Linux" in html and "This session" in html
    assert html.count("<tr>") == 3  # the header and our two sessions, not someone else's

    token = csrf_of(html)
    response = client.post("/console/profile/sessions/end-others", data={"csrf_token": token})
    assert response.status_code == 303
    assert "1 other session was signed out." in client.get("/console/profile").get_data(
        as_text=True)
    assert signed_in(client) and not signed_in(phone)
    open_rows = db.session.scalar(select(func.count()).select_from(StaffSession).where(
        StaffSession.ended_at.is_(None)))
    assert open_rows == 2  # ours and someone else's


def test_ended_and_expired_sessions_are_not_listed(app, client, make_user, console_login):
    agent = make_user("agent")
    console_login(client, agent)
    with time_machine.travel(datetime.now(UTC) - timedelta(days=2), tick=False):
        console_login(app.test_client(), agent)  # expired since
    ended = console_login(app.test_client(), agent)
    assert ended.post("/console/logout", data={"csrf_token": ended.csrf_token}).status_code == 303
    html = client.get("/console/profile").get_data(as_text=True)
    assert html.count("<tr>") == 2  # the header and this session
    assert html.count("This session") == 2  # the badge and the hidden column heading


# ---- preferences are honoured ----

def _assigned_ticket(make_user, make_ticket, support_team, **prefs):
    agent = make_user("agent", team=support_team, notify_prefs=prefs)
    ticket = make_ticket()
    assert ticket.assignee_id == agent.id
    return agent, ticket


def _customer_writes(ticket):
    from tickets.conversation import add_customer_message
    from tickets.models import Channel

    add_customer_message(ticket, ticket.contact_id, "Any news?", Channel.EMAIL,
                         datetime.now(UTC))
    db.session.commit()


def _mail_to(address: str, key_prefix: str) -> int:
    return db.session.scalar(select(func.count()).select_from(OutboundMail).where(
        OutboundMail.to_address == address, OutboundMail.dedupe_key.like(f"{key_prefix}%")))


def test_customer_replied_notice_is_mailed_by_default(make_user, make_ticket, support_team):
    agent, ticket = _assigned_ticket(make_user, make_ticket, support_team)
    _customer_writes(ticket)
    assert _mail_to(agent.email, "notice:message:") == 1


def test_customer_replied_notice_respects_the_preference(make_user, make_ticket,
                                                         support_team):
    agent, ticket = _assigned_ticket(make_user, make_ticket, support_team,
                                     customer_replied=False)
    _customer_writes(ticket)
    assert _mail_to(agent.email, "notice:message:") == 0


def test_turning_off_through_the_profile_stops_the_notice(client, make_user, console_login,
                                                          make_ticket, support_team):
    agent, ticket = _assigned_ticket(make_user, make_ticket, support_team)
    console_login(client, agent)
    client.post("/console/profile", data=profile_data(client, notify_customer_replied=None))
    _customer_writes(ticket)
    assert _mail_to(agent.email, "notice:message:") == 0


@pytest.mark.parametrize("wanted", [True, False])
def test_sla_digest_respects_the_preference(make_user, make_ticket, support_team, wanted):
    from tickets.models import Priority
    from tickets.sla_sweep import sweep

    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    agent = make_user("agent", team=support_team, notify_prefs={"sla_alerts": wanted})
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(urgency=Priority.URGENT)
    assert ticket.assignee_id == agent.id
    sweep(now=start + timedelta(minutes=50))
    assert _mail_to(agent.email, "sla-digest:") == (1 if wanted else 0)
    warnings = db.session.scalars(select(Notification).where(Notification.user_id == agent.id))
    # Either way the notice is settled: turning alerts back on mails no stale backlog.
    assert all(notice.emailed_at is not None for notice in warnings)


@pytest.mark.parametrize("user_agent, expected", [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0 Safari/537.36 Edg/126.0", ("Edge", "Windows")),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", ("Safari", "iOS")),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Safari/605.1.15", ("Safari", "macOS")),
    ("curl/8.5.0", ("curl", None)),
    ("", (None, None)),
    (None, (None, None)),
])
def test_browsers_are_named(user_agent, expected):
    from service.auth.sessions import describe_user_agent

    assert describe_user_agent(user_agent) == expected
