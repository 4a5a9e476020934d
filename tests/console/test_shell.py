"""The console shell: the gate, the layout and navigation by role."""
from __future__ import annotations


def test_signed_out_staff_are_sent_to_sign_in(client):
    response = client.get("/console/")
    assert response.status_code == 302
    assert "/console/login" in response.headers["Location"]


def test_an_ended_session_is_signed_out(client, make_user, console_login, app):
    from service.auth.sessions import end_all_sessions
    from service.extensions import db

    agent = make_user("agent")
    console_login(client, agent)
    assert client.get("/console/").status_code == 302  # to the queue
    assert "/console/login" not in client.get("/console/").headers["Location"]
    end_all_sessions(agent.id)
    db.session.commit()
    assert "/console/login" in client.get("/console/").headers["Location"]


def test_the_idle_timeout_ends_a_session(client, make_user, console_login, app):
    agent = make_user("agent")
    console_login(client, agent)
    with client.session_transaction() as session:
        session["seen"] -= app.config["CONSOLE_IDLE_MINUTES"] * 60 + 5
    assert "/console/login" in client.get("/console/").headers["Location"]


def test_a_disabled_user_is_signed_out(client, make_user, console_login):
    from service.extensions import db

    agent = make_user("agent")
    console_login(client, agent)
    agent.is_active = False
    db.session.commit()
    assert "/console/login" in client.get("/console/").headers["Location"]


def test_the_csrf_token_of_console_login_is_accepted(app, client, make_user, console_login):
    from flask_wtf.csrf import validate_csrf

    console_login(client, make_user("agent"))
    with client.session_transaction() as session:
        raw = session["csrf_token"]
    with app.test_request_context():
        from flask import session

        session["csrf_token"] = raw
        validate_csrf(client.csrf_token)  # raises when invalid
