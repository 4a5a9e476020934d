"""Admin pages for people: users and roles, teams and leads, skills, availability and capacity."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.auth import admin as users_admin
from service.auth.models import ApiToken, Availability, Role, StaffSession, User
from service.auth.services import authenticate, issue_token
from service.directory.models import Skill, Team
from service.errors import Forbidden, InvalidInput
from service.extensions import db
from tickets.models import RoutingRule

PAGES = ["/console/admin/users", "/console/admin/users/new", "/console/admin/teams",
         "/console/admin/teams/new", "/console/admin/skills", "/console/admin/agents"]
ADMIN_ONLY = PAGES[:-1]


@pytest.fixture
def admin(make_user):
    return make_user("admin", name="Ada Admin")


@pytest.fixture
def as_admin(client, console_login, admin):
    return console_login(client, admin)


def post(client, url, **data):
    return client.post(url, data={"csrf_token": client.csrf_token, **data})


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def user_form(user: User, **changes) -> dict:
    """The edit form as the page would submit it for this user, with changes."""
    data = {"name": user.name, "role": user.role.value, "is_active": "y",
            "locale": user.locale, "max_open_tickets": str(user.max_open_tickets),
            "availability": user.availability.value,
            "teams": [str(team.id) for team in user.teams],
            "skills": [str(skill.id) for skill in user.skills]}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def new_user_form(**changes) -> dict:
    data = {"email": "new.person@staff.test", "name": "New Person", "role": "agent",
            "locale": "zh_CN", "password": "a long enough password"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# ---- who may open what ----

@pytest.mark.parametrize("url", PAGES + ["/console/admin/users/1/edit",
                                         "/console/admin/teams/1/edit"])
def test_signed_out_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/console/login" in response.headers["Location"]


def test_signed_out_posts_change_nothing(client, make_user):
    agent = make_user("agent")
    response = client.post(f"/console/admin/agents/{agent.id}",
                           data={"availability": "away", "max_open_tickets": "3"})
    assert response.status_code in (302, 400)  # sign-in, or the CSRF check first
    db.session.refresh(agent)
    assert agent.availability == Availability.AVAILABLE


def test_admin_opens_every_page(as_admin, support_team):
    for url in PAGES + [f"/console/admin/teams/{support_team.id}/edit"]:
        response = as_admin.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize("role", ["agent", "department", "sales"])
def test_other_roles_are_refused(client, console_login, make_user, role):
    console_login(client, make_user(role))
    for url in PAGES:
        assert client.get(url).status_code == 403, url


def test_a_lead_opens_only_the_agents_page(client, console_login, make_user):
    console_login(client, make_user("lead"))
    for url in ADMIN_ONLY:
        assert client.get(url).status_code == 403, url
    assert client.get("/console/admin/agents").status_code == 200


def test_nav_links_the_pages_for_admins(as_admin):
    page = as_admin.get("/console/admin/users").get_data(as_text=True)
    for url in PAGES[::2] + ["/console/admin/agents"]:
        assert f'href="{url}"' in page


# ---- users: list and search ----

def test_users_list_shows_role_status_teams_and_availability(as_admin, make_user, support_team):
    make_user("agent", team=support_team, name="Li Lei", availability=Availability.AWAY)
    make_user("sales", name="Han Meimei", is_active=False)
    page = as_admin.get("/console/admin/users").get_data(as_text=True)
    assert "Li Lei" in page and support_team.name in page and "Away" in page
    assert "Han Meimei" in page and "Disabled" in page

    found = as_admin.get("/console/admin/users?q=li+lei").get_data(as_text=True)
    assert "Li Lei" in found and "Han Meimei" not in found
    disabled = as_admin.get("/console/admin/users?active=no").get_data(as_text=True)
    assert "Han Meimei" in disabled and "Li Lei" not in disabled
    sales = as_admin.get("/console/admin/users?role=sales").get_data(as_text=True)
    assert "Han Meimei" in sales and "Li Lei" not in sales


def test_users_search_treats_wildcards_as_text(as_admin, make_user):
    make_user("agent", name="Plain Name")
    page = as_admin.get("/console/admin/users?q=%25").get_data(as_text=True)
    assert "Plain Name" not in page


def test_users_list_pages_by_keyset(as_admin, make_user):
    for number in range(users_admin.PAGE_SIZE + 3):
        make_user("agent", name=f"Pager {number:03d}")
    first = as_admin.get("/console/admin/users?q=Pager").get_data(as_text=True)
    assert "Pager 000" in first and "Pager 052" not in first
    cursor = first.split("cursor=")[1].split('"')[0]
    second = as_admin.get(f"/console/admin/users?q=Pager&cursor={cursor}").get_data(
        as_text=True)
    assert "Pager 052" in second and "Pager 000" not in second


@pytest.mark.parametrize("query", ["cursor=nonsense", "role=root&active=maybe",
                                   "q=" + "长" * 500, "cursor=%00%ff", "q=%3Cscript%3E",
                                   "q=a%00b"])
def test_users_list_never_fails_on_odd_query_strings(as_admin, query):
    response = as_admin.get(f"/console/admin/users?{query}")
    assert response.status_code in (200, 400)
    assert "<script>" not in response.get_data(as_text=True)


# ---- users: create ----

def test_admin_creates_a_user_with_teams_skills_and_password(as_admin, support_team):
    skill = Skill(name="Japanese")
    db.session.add(skill)
    db.session.commit()
    response = post(as_admin, "/console/admin/users/new",
                    **new_user_form(teams=[str(support_team.id)], skills=[str(skill.id)]))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/admin/users")
    user = db.session.scalar(select(User).where(User.email == "new.person@staff.test"))
    assert (user.name, user.role, user.locale) == ("New Person", Role.AGENT, "zh_CN")
    assert [team.name for team in user.teams] == [support_team.name]
    assert [s.name for s in user.skills] == ["Japanese"]
    assert authenticate("new.person@staff.test", "a long enough password") == user
    assert "New Person" in as_admin.get("/console/admin/users").get_data(as_text=True)


@pytest.mark.parametrize("changes, field_message", [
    ({"email": "ada@staff.test"}, "already exists"),
    ({"email": "not-an-email"}, "valid email"),
    ({"email": ""}, "enter an email"),
    ({"role": "root"}, "Not a valid choice"),
    ({"role": "partner"}, "Not a valid choice"),
    ({"password": "short"}, "at least 8"),
    ({"password": None}, "initial password"),
    ({"password_mode": "carrier pigeon"}, "Not a valid choice"),
    ({"name": "   "}, "enter a name"),
    ({"teams": ["99999"]}, "Not a valid choice"),
    ({"teams": ["abc"]}, "could not be coerced"),
    ({"skills": ["2147483648"]}, "Not a valid choice"),
    ({"locale": "fr"}, "Not a valid choice"),
])
def test_bad_new_user_input_is_reshown_and_nothing_written(as_admin, make_user, changes,
                                                           field_message):
    make_user("agent", email="ada@staff.test")
    before = count(User)
    response = post(as_admin, "/console/admin/users/new", **new_user_form(**changes))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_message.lower() in page.lower()
    assert 'class="field-error"' in page
    assert count(User) == before


def test_a_new_user_may_get_a_password_link_instead(as_admin):
    from service.auth.passwords import check_reset_token
    from service.notify.models import OutboundMail

    response = post(as_admin, "/console/admin/users/new",
                    **new_user_form(password=None, password_mode="link"))
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "new.person@staff.test"))
    assert user.password_hash  # random: nobody knows it
    [sent] = db.session.scalars(select(OutboundMail).where(
        OutboundMail.to_address == "new.person@staff.test")).all()
    token = sent.body_text.split("/console/password/reset/")[1].split()[0]
    assert check_reset_token(token).user == user
    assert "on its way" in as_admin.get("/console/admin/users").get_data(as_text=True)


def test_a_set_password_sends_no_link(as_admin):
    from service.notify.models import OutboundMail

    assert post(as_admin, "/console/admin/users/new", **new_user_form()).status_code == 303
    assert count(OutboundMail) == 0


def test_new_user_form_needs_the_csrf_token(as_admin):
    response = as_admin.post("/console/admin/users/new", data=new_user_form())
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "new.person@staff.test")) is None


def test_only_admins_grant_the_admin_role(make_user):
    lead = make_user("lead")
    with pytest.raises(Forbidden):
        users_admin.create_staff_user(lead, email="x@staff.test", name="X", role="admin",
                                      locale="en", password="long enough!", team_ids=[],
                                      skill_ids=[])
    db.session.rollback()
    target = make_user("admin")
    with pytest.raises(Forbidden):
        users_admin.update_staff_user(lead, target, name=target.name, role="agent",
                                      is_active=True, locale="en")
    agent = make_user("agent")
    with pytest.raises(Forbidden):
        users_admin.update_staff_user(lead, agent, name=agent.name, role="admin",
                                      is_active=True, locale="en")
    db.session.rollback()
    assert db.session.get(User, target.id).role == Role.ADMIN
    assert db.session.get(User, agent.id).role == Role.AGENT


def test_an_admin_grants_and_revokes_admin(as_admin, make_user):
    other = make_user("agent")
    assert post(as_admin, f"/console/admin/users/{other.id}/edit",
                **user_form(other, role="admin")).status_code == 303
    db.session.refresh(other)
    assert other.role == Role.ADMIN
    assert post(as_admin, f"/console/admin/users/{other.id}/edit",
                **user_form(other, role="lead")).status_code == 303
    db.session.refresh(other)
    assert other.role == Role.LEAD


# ---- users: edit and the rules ----

def test_admin_edits_everything_of_a_user(as_admin, make_user, make_team, support_team):
    other_team = make_team("Logistics")
    skill = Skill(name="Printers")
    db.session.add(skill)
    agent = make_user("agent", team=support_team, name="Old Name")
    response = post(as_admin, f"/console/admin/users/{agent.id}/edit", **user_form(
        agent, name="王小明", role="lead", locale="zh_CN", teams=[str(other_team.id)],
        skills=[str(skill.id)], max_open_tickets="35", availability="out_of_office"))
    assert response.status_code == 303
    db.session.expire_all()
    agent = db.session.get(User, agent.id)
    assert (agent.name, agent.role, agent.locale) == ("王小明", Role.LEAD, "zh_CN")
    assert [team.name for team in agent.teams] == ["Logistics"]
    assert [s.name for s in agent.skills] == ["Printers"]
    assert (agent.max_open_tickets, agent.availability) == (35, Availability.OUT_OF_OFFICE)


def test_edit_page_shows_the_current_values(as_admin, make_user, support_team):
    agent = make_user("agent", team=support_team, max_open_tickets=17)
    page = as_admin.get(f"/console/admin/users/{agent.id}/edit").get_data(as_text=True)
    assert 'value="17"' in page
    assert f'value="{support_team.id}" checked' in page


def test_nobody_changes_their_own_role(as_admin, admin):
    response = post(as_admin, f"/console/admin/users/{admin.id}/edit",
                    **user_form(admin, role="agent"))
    assert response.status_code == 400
    assert "your own role" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == Role.ADMIN


def test_nobody_disables_themselves(as_admin, admin, make_user):
    make_user("admin")  # not the last admin: the self rule alone refuses
    data = user_form(admin)
    del data["is_active"]
    response = post(as_admin, f"/console/admin/users/{admin.id}/edit", **data)
    assert response.status_code == 400
    assert "disable yourself" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.is_active


def test_own_name_and_language_may_change(as_admin, admin):
    response = post(as_admin, f"/console/admin/users/{admin.id}/edit",
                    **user_form(admin, name="Ada L."))
    assert response.status_code == 303
    db.session.refresh(admin)
    assert admin.name == "Ada L."


def test_the_last_active_admin_is_never_demoted_or_disabled(make_user):
    acting = make_user("admin")
    last = make_user("admin")
    acting.is_active = False  # disabled meanwhile (say, by `last` a moment ago)
    db.session.commit()
    with pytest.raises(InvalidInput) as demoted:
        users_admin.update_staff_user(acting, last, name=last.name, role="agent",
                                      is_active=True, locale="en")
    assert "last active admin" in str(demoted.value.errors["role"])
    with pytest.raises(InvalidInput):
        users_admin.update_staff_user(acting, last, name=last.name, role="admin",
                                      is_active=False, locale="en")
    db.session.rollback()
    last = db.session.get(User, last.id)
    assert last.role == Role.ADMIN and last.is_active


def test_another_admin_may_be_demoted_while_one_remains(as_admin, make_user):
    other = make_user("admin")
    assert post(as_admin, f"/console/admin/users/{other.id}/edit",
                **user_form(other, role="agent")).status_code == 303


def test_disabling_ends_sessions_and_revokes_tokens(app, as_admin, console_login, make_user,
                                                    support_team):
    victim = make_user("agent", team=support_team)
    victim_client = console_login(app.test_client(), victim)
    assert victim_client.get("/console/admin/agents").status_code == 403  # signed in
    headers = {"Authorization": f"Bearer {issue_token(victim)}"}
    db.session.commit()
    assert victim_client.get("/api/v1/tickets", headers=headers).status_code == 200

    data = user_form(victim)
    del data["is_active"]
    response = post(as_admin, f"/console/admin/users/{victim.id}/edit", **data)
    assert response.status_code == 303
    assert "1 console sessions ended, 1 API tokens revoked" in as_admin.get(
        "/console/admin/users").get_data(as_text=True)

    db.session.expire_all()
    assert not db.session.get(User, victim.id).is_active
    assert db.session.scalar(select(func.count()).select_from(StaffSession).where(
        StaffSession.user_id == victim.id, StaffSession.ended_at.is_(None))) == 0
    assert db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == victim.id, ApiToken.revoked_at.is_(None))) == 0
    signed_out = victim_client.get("/console/admin/agents")
    assert signed_out.status_code == 302 and "/console/login" in signed_out.headers["Location"]
    assert victim_client.get("/api/v1/tickets", headers=headers).status_code == 401


def test_disabling_warns_about_held_tickets(as_admin, make_user, make_ticket, support_team):
    agent = make_user("agent", team=support_team)
    make_ticket()
    db.session.refresh(agent)
    assert agent.open_tickets == 1
    data = user_form(agent)
    del data["is_active"]
    post(as_admin, f"/console/admin/users/{agent.id}/edit", **data)
    assert "still holds 1 open tickets" in as_admin.get("/console/admin/users").get_data(
        as_text=True)


def test_a_lead_stays_in_the_team_they_lead(as_admin, make_user, make_team):
    lead = make_user("lead")
    team = make_team("Escalations", lead=lead)
    team.members.append(lead)
    db.session.commit()
    response = post(as_admin, f"/console/admin/users/{lead.id}/edit",
                    **user_form(lead, teams=[]))
    assert response.status_code == 400
    assert "choose another lead" in response.get_data(as_text=True)
    db.session.refresh(lead)
    assert [t.name for t in lead.teams] == ["Escalations"]


@pytest.mark.parametrize("changes, message", [
    ({"max_open_tickets": "-1"}, "between 0 and 500"),
    ({"max_open_tickets": "501"}, "between 0 and 500"),
    ({"max_open_tickets": "abc"}, "Not a valid integer"),
    ({"max_open_tickets": "9" * 40}, "between 0 and 500"),
    ({"max_open_tickets": None}, "enter a number"),
    ({"availability": "asleep"}, "Not a valid choice"),
    ({"role": "partner"}, "Not a valid choice"),
    ({"teams": ["99999"]}, "Not a valid choice"),
    ({"skills": ["abc"]}, "could not be coerced"),
    ({"name": "x" * 121}, "120"),
])
def test_bad_edits_are_reshown_and_nothing_written(as_admin, make_user, changes, message):
    agent = make_user("agent", name="Stays", max_open_tickets=20)
    response = post(as_admin, f"/console/admin/users/{agent.id}/edit",
                    **user_form(agent, **changes))
    assert response.status_code == 400
    assert message.lower() in response.get_data(as_text=True).lower()
    db.session.expire_all()
    agent = db.session.get(User, agent.id)
    assert (agent.name, agent.role, agent.max_open_tickets) == ("Stays", Role.AGENT, 20)


@pytest.mark.parametrize("url", ["/console/admin/users/0/edit", "/console/admin/users/abc/edit",
                                 "/console/admin/users/99999/edit",
                                 "/console/admin/users/99999999999999/edit"])
def test_unknown_users_are_not_found(as_admin, url):
    assert as_admin.get(url).status_code == 404
    assert post(as_admin, url, name="x").status_code == 404


def test_partners_are_listed_but_stay_partners(as_admin, make_user):
    partner = make_user("partner", name="Reseller Co")
    assert "Reseller Co" in as_admin.get("/console/admin/users").get_data(as_text=True)
    page = as_admin.get(f"/console/admin/users/{partner.id}/edit").get_data(as_text=True)
    assert "cannot be given a console role" in page
    assert 'name="role"' not in page

    response = post(as_admin, f"/console/admin/users/{partner.id}/edit", name="Reseller Co",
                    is_active="y", role="agent")
    assert response.status_code == 303  # the role field is not part of a partner's form
    db.session.refresh(partner)
    assert partner.role == Role.PARTNER
    with pytest.raises(InvalidInput) as refused:
        users_admin.update_staff_user(make_user("admin"), partner, name="Reseller Co",
                                      role="agent", is_active=True, locale="en")
    assert "cannot become a console user" in str(refused.value.errors["role"])


def test_disabling_a_partner_revokes_its_tokens(as_admin, make_user):
    partner = make_user("partner")
    issue_token(partner)
    db.session.commit()
    response = post(as_admin, f"/console/admin/users/{partner.id}/edit", name=partner.name)
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == partner.id, ApiToken.revoked_at.is_(None))) == 0


# ---- teams ----

def test_teams_list_shows_lead_members_and_default(as_admin, make_user, support_team):
    lead = make_user("lead", team=support_team, name="Lead Lin")
    support_team.lead_id = lead.id
    make_user("agent", team=support_team)
    db.session.commit()
    page = as_admin.get("/console/admin/teams").get_data(as_text=True)
    assert support_team.name in page and "Lead Lin" in page and "Default team" in page
    assert '<td class="num">2</td>' in page


def test_new_team_lead_becomes_a_member(as_admin, make_user):
    lead, agent = make_user("lead"), make_user("agent")
    response = post(as_admin, "/console/admin/teams/new", name="R&D", name_zh="研发",
                    lead=str(lead.id), members=[str(agent.id)])
    assert response.status_code == 303
    team = db.session.scalar(select(Team).where(Team.name == "R&D"))
    assert team.name_zh == "研发" and team.lead_id == lead.id and not team.is_default
    assert sorted(member.id for member in team.members) == sorted([lead.id, agent.id])


def test_exactly_one_default_team(as_admin, support_team):
    assert post(as_admin, "/console/admin/teams/new", name="Night shift",
                is_default="y").status_code == 303
    defaults = db.session.scalars(select(Team.name).where(Team.is_default.is_(True))).all()
    assert defaults == ["Night shift"]
    night = db.session.scalar(select(Team).where(Team.name == "Night shift"))
    response = post(as_admin, f"/console/admin/teams/{night.id}/edit", name="Night shift")
    assert response.status_code == 400
    assert "one default team" in response.get_data(as_text=True)
    db.session.refresh(night)
    assert night.is_default
    assert post(as_admin, f"/console/admin/teams/{support_team.id}/edit",
                name=support_team.name, is_default="y").status_code == 303
    defaults = db.session.scalars(select(Team.name).where(Team.is_default.is_(True))).all()
    assert defaults == [support_team.name]


def test_edit_team_changes_members_and_lead(as_admin, make_user, make_team):
    first, second = make_user("agent"), make_user("lead")
    team = make_team("QA")
    team.members.append(first)
    db.session.commit()
    response = post(as_admin, f"/console/admin/teams/{team.id}/edit", name="QA team",
                    lead=str(second.id), members=[])
    assert response.status_code == 303
    db.session.expire_all()
    team = db.session.get(Team, team.id)
    assert team.name == "QA team" and team.lead_id == second.id
    assert [member.id for member in team.members] == [second.id]


@pytest.mark.parametrize("data, message", [
    ({"name": "Existing"}, "Another team has this name"),
    ({"name": "existing"}, "Another team has this name"),
    ({"name": ""}, "enter a name"),
    ({"name": "x" * 81}, "80"),
    ({"name": "Fine", "members": ["99999"]}, "Not a valid choice"),
    ({"name": "Fine", "lead": "99999"}, "Not a valid choice"),
    ({"name": "Fine", "lead": "abc"}, "Invalid Choice"),
])
def test_bad_team_input_is_reshown_and_nothing_written(as_admin, make_team, data, message):
    make_team("Existing")
    before = count(Team)
    response = post(as_admin, "/console/admin/teams/new", **data)
    assert response.status_code == 400
    assert message.lower() in response.get_data(as_text=True).lower()
    assert count(Team) == before


def test_a_partner_cannot_lead_or_join_a_team(as_admin, make_user):
    partner = make_user("partner")
    response = post(as_admin, "/console/admin/teams/new", name="Partners",
                    members=[str(partner.id)])
    assert response.status_code == 400
    assert count(Team) == 1


def test_unknown_team_is_not_found(as_admin):
    assert as_admin.get("/console/admin/teams/99999/edit").status_code == 404


# ---- skills ----

def test_add_rename_and_delete_a_skill(as_admin, make_user):
    assert post(as_admin, "/console/admin/skills", action="add",
                name="Japanese").status_code == 303
    skill = db.session.scalar(select(Skill).where(Skill.name == "Japanese"))
    agent = make_user("agent")
    agent.skills = [skill]
    db.session.commit()
    page = as_admin.get("/console/admin/skills").get_data(as_text=True)
    assert "Japanese" in page

    assert post(as_admin, "/console/admin/skills", action="rename", skill_id=str(skill.id),
                name="日本語").status_code == 303
    db.session.refresh(skill)
    assert skill.name == "日本語"

    assert post(as_admin, "/console/admin/skills", action="delete",
                skill_id=str(skill.id)).status_code == 303
    db.session.expire_all()
    assert count(Skill) == 0
    assert db.session.get(User, agent.id).skills == []


@pytest.mark.parametrize("data", [
    {"action": "add", "name": "billing"},
    {"action": "add", "name": ""},
    {"action": "add", "name": "x" * 61},
    {"action": "rename", "skill_id": "{other}", "name": "BILLING"},
    {"action": "rename", "skill_id": "99999", "name": "Anything"},
    {"action": "delete", "skill_id": "abc"},
    {"action": "delete", "skill_id": "²"},
    {"action": "delete", "skill_id": "9" * 5000},
    {"action": "explode"},
])
def test_bad_skill_input_is_refused_and_nothing_written(as_admin, data):
    db.session.add_all([Skill(name="Billing"), Skill(name="Other")])
    db.session.commit()
    other = db.session.scalar(select(Skill.id).where(Skill.name == "Other"))
    data = {key: value.format(other=other) for key, value in data.items()}
    response = post(as_admin, "/console/admin/skills", **data)
    assert response.status_code == 400
    assert 'class="field-error"' in response.get_data(as_text=True) or \
        'class="form-errors"' in response.get_data(as_text=True)
    assert sorted(db.session.scalars(select(Skill.name))) == ["Billing", "Other"]


def test_deleting_a_skill_a_routing_rule_requires_asks_first(as_admin, support_team):
    skill = Skill(name="Billing")
    db.session.add(skill)
    db.session.add(RoutingRule(position=1, name="Invoices to billing", conditions={},
                               team_id=support_team.id, required_skills=["Billing"]))
    db.session.commit()
    page = as_admin.get("/console/admin/skills").get_data(as_text=True)
    assert "Invoices to billing" in page

    response = post(as_admin, "/console/admin/skills", action="delete", skill_id=str(skill.id))
    assert response.status_code == 409
    warning = response.get_data(as_text=True)
    assert "Invoices to billing" in warning and "wait unassigned" in warning
    assert count(Skill) == 1

    response = post(as_admin, "/console/admin/skills", action="rename", skill_id=str(skill.id),
                    name="Invoicing")
    assert response.status_code == 409
    db.session.refresh(skill)
    assert skill.name == "Billing"

    response = post(as_admin, "/console/admin/skills", action="delete", skill_id=str(skill.id),
                    confirm="1")
    assert response.status_code == 303
    assert count(Skill) == 0
    assert "Review them" in as_admin.get("/console/admin/skills").get_data(as_text=True)


def test_skill_names_are_escaped(as_admin):
    post(as_admin, "/console/admin/skills", action="add", name="<b>bold</b>")
    page = as_admin.get("/console/admin/skills").get_data(as_text=True)
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page


# ---- agents: availability and capacity ----

def test_admin_sees_every_agent_with_load(as_admin, make_user, make_team, support_team,
                                          make_ticket):
    here = make_user("agent", team=support_team, name="Agent Here")
    make_user("agent", team=make_team("Elsewhere"), name="Agent There")
    make_user("sales", name="Sales Person")
    make_ticket()
    page = as_admin.get("/console/admin/agents").get_data(as_text=True)
    assert "Agent Here" in page and "Agent There" in page and "Sales Person" not in page
    db.session.refresh(here)
    assert here.open_tickets == 1
    assert f"1 / {here.max_open_tickets}" in page


def test_a_lead_sees_and_changes_only_members_of_teams_they_lead(client, console_login,
                                                                 make_user, make_team):
    lead = make_user("lead")
    mine = make_team("Mine", lead=lead)
    other = make_team("Other")
    member = make_user("agent", team=mine, name="My Member")
    outsider = make_user("agent", team=other, name="Not Mine")
    console_login(client, lead)
    page = client.get("/console/admin/agents").get_data(as_text=True)
    assert "My Member" in page and "Not Mine" not in page

    assert post(client, f"/console/admin/agents/{member.id}", availability="away",
                max_open_tickets="5").status_code == 303
    db.session.refresh(member)
    assert (member.availability, member.max_open_tickets) == (Availability.AWAY, 5)

    response = post(client, f"/console/admin/agents/{outsider.id}", availability="away",
                    max_open_tickets="5")
    assert response.status_code == 404
    db.session.refresh(outsider)
    assert outsider.availability == Availability.AVAILABLE
    for odd in (str(other.id), "²", "9" * 5000, "-1", "abc"):
        assert client.get(f"/console/admin/agents?team={odd}").status_code == 200
    assert "Not Mine" not in client.get(f"/console/admin/agents?team={other.id}").get_data(
        as_text=True)


@pytest.mark.parametrize("data, message", [
    ({"availability": "away", "max_open_tickets": "-1"}, "between 0 and 500"),
    ({"availability": "away", "max_open_tickets": "501"}, "between 0 and 500"),
    ({"availability": "away", "max_open_tickets": "abc"}, "Not a valid integer"),
    ({"availability": "away"}, "enter a number"),
    ({"availability": "gone", "max_open_tickets": "3"}, "Not a valid choice"),
])
def test_bad_agent_settings_are_refused(as_admin, make_user, support_team, data, message):
    agent = make_user("agent", team=support_team, max_open_tickets=20)
    response = post(as_admin, f"/console/admin/agents/{agent.id}", **data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and f'id="agent-{agent.id}-error"' in page
    db.session.refresh(agent)
    assert (agent.availability, agent.max_open_tickets) == (Availability.AVAILABLE, 20)


def test_agent_settings_need_the_csrf_token(as_admin, make_user):
    agent = make_user("agent")
    response = as_admin.post(f"/console/admin/agents/{agent.id}",
                             data={"availability": "away", "max_open_tickets": "1"})
    assert response.status_code == 400
    db.session.refresh(agent)
    assert agent.availability == Availability.AVAILABLE


def test_unknown_or_non_agent_ids_are_not_found(as_admin, make_user):
    sales = make_user("sales")
    for user_id in (99999, sales.id):
        assert post(as_admin, f"/console/admin/agents/{user_id}", availability="away",
                    max_open_tickets="1").status_code == 404


def test_more_capacity_assigns_queued_tickets(as_admin, make_user, make_ticket, support_team):
    agent = make_user("agent", team=support_team, max_open_tickets=0)
    ticket = make_ticket()
    assert ticket.assignee_id is None  # nobody had room: it waits in the team queue
    response = post(as_admin, f"/console/admin/agents/{agent.id}", availability="available",
                    max_open_tickets="3")
    assert response.status_code == 303
    db.session.expire_all()
    assert ticket.assignee_id == agent.id


def test_coming_back_assigns_queued_tickets(as_admin, make_user, make_ticket, support_team):
    agent = make_user("agent", team=support_team, availability=Availability.OUT_OF_OFFICE)
    ticket = make_ticket()
    assert ticket.assignee_id is None
    post(as_admin, f"/console/admin/agents/{agent.id}", availability="available",
         max_open_tickets=str(agent.max_open_tickets))
    db.session.expire_all()
    assert ticket.assignee_id == agent.id


def test_agent_roles_match_what_routing_assigns():
    from service.directory.admin import AGENT_ROLES
    from tickets.routing import ASSIGNABLE_ROLES

    assert set(AGENT_ROLES) == set(ASSIGNABLE_ROLES)
