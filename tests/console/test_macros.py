"""Canned responses: the pages, who may keep which, and safe placeholder filling."""
from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import func, select

from service.extensions import db
from tickets import macros
from tickets.models import CannedResponse

INDEX = "/console/canned-responses"
NEW = "/console/canned-responses/new"


def edit_url(macro_id: int) -> str:
    return f"/console/canned-responses/{macro_id}/edit"


def delete_url(macro_id: int) -> str:
    return f"/console/canned-responses/{macro_id}/delete"


def html(response) -> str:
    return response.get_data(as_text=True)


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(CannedResponse))


def sign_in(client, console_login, user):
    # The test's app context is shared with its requests: forget the previous user.
    g.pop("_login_user", None)
    return console_login(client, user)


def post(client, path: str, **data):
    return client.post(path, data={"csrf_token": client.csrf_token, **data})


def macro(title: str = "Greeting", body: str = "Hello", **fields) -> CannedResponse:
    row = CannedResponse(title=title, body=body, **fields)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def agent(make_user, support_team):
    return make_user("agent", team=support_team)


@pytest.fixture
def lead(make_user, support_team):
    return make_user("lead", team=support_team)


# ---- the pages and who may open them ----

def test_signed_out_staff_are_sent_to_sign_in(client):
    for path in (INDEX, NEW, edit_url(1)):
        response = client.get(path)
        assert response.status_code == 302 and "/console/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["department", "sales"])
def test_roles_that_cannot_reply_have_no_canned_responses(client, console_login, make_user,
                                                         role):
    console_login(client, make_user(role))
    assert client.get(INDEX).status_code == 403
    assert client.get(NEW).status_code == 403
    assert post(client, NEW, title="x", body="y", scope="personal").status_code == 403
    assert count() == 0


def test_an_agent_keeps_personal_responses(client, console_login, agent, make_user,
                                           support_team):
    console_login(client, agent)
    page = html(client.get(NEW))
    assert '<option value="personal"' in page
    assert 'value="shared"' not in page and 'value="team-' not in page
    response = post(client, NEW, title="Reset steps", body="Hold the button for 10 s.",
                    scope="personal")
    assert response.status_code == 303 and response.headers["Location"].endswith(INDEX)
    row = db.session.scalar(select(CannedResponse))
    assert (row.title, row.owner_id, row.team_id, row.created_by_id) == (
        "Reset steps", agent.id, None, agent.id)
    page = html(client.get(INDEX))
    assert "Reset steps" in page and "Only me" in page and "Canned response saved." in page
    assert post(client, edit_url(row.id), title="Reset steps v2", body="Hold it 15 s.",
                scope="personal").status_code == 303
    db.session.expire_all()
    assert db.session.get(CannedResponse, row.id).title == "Reset steps v2"


@pytest.mark.parametrize("scope", ["shared", "team-1", "team-999", "nonsense", ""])
def test_an_agent_cannot_keep_shared_or_team_responses(client, console_login, agent, scope):
    console_login(client, agent)
    response = post(client, NEW, title="Team text", body="For all", scope=scope)
    assert response.status_code == 400
    assert 'id="macro-scope-error"' in html(response)
    assert count() == 0


def test_a_lead_keeps_responses_for_their_own_teams_only(client, console_login, lead,
                                                         support_team, make_team):
    other = make_team("Logistics")
    theirs = macro("Their text", team_id=other.id)
    console_login(client, lead)
    page = html(client.get(NEW))
    assert f'value="team-{support_team.id}"' in page and f'value="team-{other.id}"' not in page
    assert 'value="shared"' not in page
    assert post(client, NEW, title="Ours", body="For the team",
                scope=f"team-{support_team.id}").status_code == 303
    assert db.session.scalar(select(CannedResponse.team_id)
                             .where(CannedResponse.title == "Ours")) == support_team.id
    assert post(client, NEW, title="Theirs", body="x", scope=f"team-{other.id}"
                ).status_code == 400
    assert post(client, NEW, title="Everyone", body="x", scope="shared").status_code == 400
    # Another team's response does not exist for this lead.
    assert client.get(edit_url(theirs.id)).status_code == 404
    assert post(client, edit_url(theirs.id), title="Mine now", body="x",
                scope=f"team-{support_team.id}").status_code == 404
    assert post(client, delete_url(theirs.id)).status_code == 404
    assert "Their text" not in html(client.get(INDEX))
    db.session.expire_all()
    assert db.session.get(CannedResponse, theirs.id).title == "Their text"


def test_a_lead_manages_the_teams_they_lead(client, console_login, make_user, make_team):
    lead = make_user("lead")
    team = make_team("Billing", lead=lead)  # leads it without being a member
    kept = macro("Billing text", team_id=team.id)
    console_login(client, lead)
    assert "Billing text" in html(client.get(INDEX))
    assert post(client, edit_url(kept.id), title="Billing text 2", body="x",
                scope=f"team-{team.id}").status_code == 303


def test_an_admin_keeps_shared_and_any_teams_responses(client, console_login, make_user,
                                                      make_team, agent):
    admin = make_user("admin")
    other = make_team("Logistics")
    team_text = macro("Logistics text", team_id=other.id)
    personal = macro("Agent's own", owner_id=agent.id)
    console_login(client, admin)
    assert post(client, NEW, title="For everyone", body="Hi all", scope="shared"
                ).status_code == 303
    shared = db.session.scalar(select(CannedResponse).where(CannedResponse.title == "For everyone"))
    assert (shared.team_id, shared.owner_id) == (None, None)
    page = html(client.get(INDEX))
    assert "Logistics text" in page and "For everyone" in page and "Everyone" in page
    assert "Agent&#39;s own" not in page and "Agent's own" not in page
    assert post(client, edit_url(team_text.id), title="Logistics text", body="changed",
                scope=f"team-{other.id}").status_code == 303
    # Someone else's personal response: not found, even for an admin.
    assert client.get(edit_url(personal.id)).status_code == 404
    assert post(client, delete_url(personal.id)).status_code == 404


def test_agents_use_shared_and_team_responses_but_cannot_change_them(
        client, console_login, agent, support_team, make_user):
    shared = macro("Shared text")
    team_text = macro("Team text", team_id=support_team.id)
    someone = make_user("agent")
    private = macro("Private text", owner_id=someone.id)
    console_login(client, agent)
    page = html(client.get(INDEX))
    assert "Shared text" in page and "Team text" in page and "Private text" not in page
    assert "Use only" in page and edit_url(shared.id) not in page
    assert client.get(edit_url(shared.id)).status_code == 403
    assert post(client, edit_url(team_text.id), title="x", body="y", scope="personal"
                ).status_code == 403
    assert post(client, delete_url(shared.id)).status_code == 403
    assert client.get(edit_url(private.id)).status_code == 404
    assert post(client, delete_url(private.id)).status_code == 404
    assert count() == 3


@pytest.mark.parametrize("data, field", [
    ({"title": "", "body": "x"}, "title"), ({"title": "   ", "body": "x"}, "title"),
    ({"title": "t" * 121, "body": "x"}, "title"), ({"title": "t", "body": ""}, "body"),
    ({"title": "t", "body": "b" * 10001}, "body"), ({"body": "x"}, "title"),
])
def test_bad_fields_are_shown_again_and_nothing_is_written(client, console_login, agent,
                                                           data, field):
    console_login(client, agent)
    response = post(client, NEW, scope="personal", **data)
    assert response.status_code == 400
    assert f'id="macro-{field}-error"' in html(response)
    assert count() == 0


def test_bad_ids_are_404(client, console_login, agent):
    console_login(client, agent)
    for path in ("/console/canned-responses/abc/edit", "/console/canned-responses/0/edit",
                 "/console/canned-responses/99999999999/edit", edit_url(4242)):
        assert client.get(path).status_code == 404
    assert post(client, "/console/canned-responses/abc/delete").status_code == 404


def test_unknown_placeholders_are_saved_with_a_warning(client, console_login, agent):
    console_login(client, agent)
    response = post(client, NEW, title="Odd", scope="personal",
                    body="Hi {{ customer.name }}, {{ customer.nickname }} {{config}}")
    assert response.status_code == 303
    page = html(client.get(INDEX))
    assert "These placeholders are unknown and stay as written: " \
           "{{ customer.nickname }}, {{config}}" in page


def test_delete(client, console_login, agent):
    row = macro("Mine", owner_id=agent.id)
    console_login(client, agent)
    assert client.post(delete_url(row.id)).status_code == 400  # no CSRF token
    assert count() == 1
    response = post(client, delete_url(row.id))
    assert response.status_code == 303 and count() == 0
    assert "Canned response deleted." in html(client.get(INDEX))


def test_user_text_is_escaped(client, console_login, agent):
    macro("<script>alert(1)</script>", body="<img src=x onerror=alert(1)>", owner_id=agent.id)
    console_login(client, agent)
    page = html(client.get(INDEX))
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_switching_users_sees_each_ones_own(client, console_login, agent, make_user,
                                            support_team):
    other = make_user("agent", team=support_team)
    macro("Agent one's", owner_id=agent.id)
    sign_in(client, console_login, other)
    assert "Agent one" not in html(client.get(INDEX))


# ---- placeholders ----

VALUES = macros.placeholder_values(
    customer_name="Casey Customer", customer_email="casey@example.com",
    ticket_number="T-000042", ticket_subject="Printer on fire", agent_name="Alice Agent",
    team_name="Support")


def test_known_placeholders_are_filled_with_or_without_spaces():
    body = ("{{ customer.name }}|{{customer.first_name}}|{{  customer.email  }}|"
            "{{ ticket.number }}|{{ ticket.subject }}|{{ agent.name }}|{{ agent.first_name }}|"
            "{{ team.name }}")
    assert macros.render(body, VALUES) == ("Casey Customer|Casey|casey@example.com|T-000042|"
                                           "Printer on fire|Alice Agent|Alice|Support")


@pytest.mark.parametrize("body", [
    "{{ config }}", "{{ config.SECRET_KEY }}", "{% if true %}x{% endif %}",
    "{{ customer.name|upper }}", "{{ ''.__class__.__mro__ }}", "{{ customer. name }}",
    "{# comment #}", "{{ ticket.number ", "{{{ customer.name }}}",
])
def test_anything_else_stays_literal(body):
    rendered = macros.render(body, VALUES)
    if body == "{{{ customer.name }}}":
        assert rendered == "{Casey Customer}"
    else:
        assert rendered == body


def test_values_are_never_expanded_again():
    values = {**VALUES, "customer.name": "{{ agent.name }} {% raw %}"}
    assert macros.render("{{ customer.name }}", values) == "{{ agent.name }} {% raw %}"


def test_first_names():
    assert macros.first_name("Casey  Customer") == "Casey"
    assert macros.first_name("张伟") == "张伟"
    assert macros.first_name("") == "" and macros.first_name(None) == ""


def test_unknown_placeholders_are_listed_once_in_order():
    body = "{{ a.b }} {{ customer.name }} {{ config }} {{ a.b }} {{ x|safe }}"
    assert macros.unknown_placeholders(body) == ["{{ a.b }}", "{{ config }}", "{{ x|safe }}"]
    assert macros.unknown_placeholders("Hello {{ customer.name }}") == []


def test_the_service_checks_scope_and_team(make_user, make_team):
    from service.errors import Forbidden, InvalidInput

    admin = make_user("admin")
    with pytest.raises(InvalidInput) as refused:
        macros.save(admin, None, {"title": "t", "body": "b", "scope": macros.Scope.TEAM,
                                  "team_id": 999999})
    assert refused.value.errors == {"scope": [macros.SCOPE_NOT_ALLOWED]}
    agent = make_user("agent")
    shared = macros.save(admin, None, {"title": "t", "body": "b",
                                       "scope": macros.Scope.SHARED}).macro
    with pytest.raises(Forbidden):
        macros.save(agent, shared, {"title": "mine", "body": "b",
                                    "scope": macros.Scope.PERSONAL})
    with pytest.raises(Forbidden):
        macros.delete(agent, shared)
    assert count() == 1
