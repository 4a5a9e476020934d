"""Console pages of service recovery: the list's tabs, a follow-up's page, the outcome form."""
from __future__ import annotations

from datetime import timedelta

import pytest

from service.db_types import utcnow
from service.directory.models import Tier
from service.extensions import db
from surveys.models import RecoveryFollowUp, RecoveryOutcome, RecoveryStatus
from surveys.recovery import services
from tests.surveys.test_recovery import answer, follow_ups, make_account, make_contact


@pytest.fixture
def lead(make_user):
    return make_user("lead", name="Lee Lead")


@pytest.fixture
def opened(app, lead, make_team, make_user):
    """An overdue follow-up (answered long ago) and one due tomorrow, both the lead's."""
    team = make_team(lead=lead)
    sales = make_user("sales", name="Sam Sales")
    answer(make_contact(make_account(Tier.VIP, sales)), 1, team_id=team.id,
           comment="<script>alert(1)</script> still waiting")
    answer(make_contact(), 2, team_id=team.id, now=utcnow())
    overdue, fresh = follow_ups()
    return {"overdue": overdue, "fresh": fresh, "sales": sales, "team": team}


def test_the_list_shows_mine_with_due_times_and_overdue_highlighted(client, console_login,
                                                                    lead, opened):
    console_login(client, lead)
    page = client.get("/console/recovery/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="recovery-{opened["overdue"].id}" class="overdue"' in html
    assert f'id="recovery-{opened["fresh"].id}">' in html
    assert "sla-breached" in html and "Sam Sales" in html
    overdue_only = client.get("/console/recovery/?view=overdue").get_data(as_text=True)
    assert f'recovery-{opened["overdue"].id}"' in overdue_only
    assert f'recovery-{opened["fresh"].id}"' not in overdue_only


def test_the_tabs(client, console_login, lead, opened):
    services.close(lead, opened["fresh"], RecoveryOutcome.RESOLVED, "Called.")
    console_login(client, lead)
    done = client.get("/console/recovery/?view=done").get_data(as_text=True)
    assert f'recovery-{opened["fresh"].id}"' in done
    assert f'recovery-{opened["overdue"].id}"' not in done
    assert client.get("/console/recovery/?view=weird").status_code == 200  # back to "mine"
    assert client.get("/console/recovery/?view=open&cursor=nonsense").status_code == 400


def test_the_list_is_for_recovery_workers_only(client, console_login, make_user, opened):
    console_login(client, make_user("agent"))
    assert client.get("/console/recovery/").status_code == 403
    assert client.get(f"/console/recovery/{opened['overdue'].id}").status_code == 403


def test_signed_out_goes_to_the_sign_in_page(client, opened):
    response = client.get("/console/recovery/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_sales_rep_sees_only_their_accounts(client, console_login, opened):
    console_login(client, opened["sales"])
    html = client.get("/console/recovery/?view=open").get_data(as_text=True)
    assert f'recovery-{opened["overdue"].id}"' in html
    assert f'recovery-{opened["fresh"].id}"' not in html
    assert client.get(f"/console/recovery/{opened['fresh'].id}").status_code == 404


def test_the_follow_up_page_shows_the_answer_escaped(client, console_login, lead, opened):
    console_login(client, lead)
    page = client.get(f"/console/recovery/{opened['overdue'].id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; still waiting" in html
    assert 'id="overdue-badge"' in html and 'id="close-form"' in html
    assert "Pat Customer" in html


def test_closing_from_the_page(client, console_login, lead, opened):
    follow_up = opened["fresh"]
    console_login(client, lead)
    url = f"/console/recovery/{follow_up.id}/close"
    missing = client.post(url, data={"csrf_token": client.csrf_token, "outcome": ""})
    assert missing.status_code == 400
    html = missing.get_data(as_text=True)
    assert "Choose the outcome of the follow-up." in html
    assert "Write what was done and what the customer said." in html
    bad = client.post(url, data={"csrf_token": client.csrf_token, "outcome": "sorted",
                                 "note": "x"})
    assert bad.status_code == 400
    no_csrf = client.post(url, data={"outcome": "resolved", "note": "Called."})
    assert no_csrf.status_code == 400
    assert db.session.get(RecoveryFollowUp, follow_up.id).status == RecoveryStatus.OPEN

    done = client.post(url, data={"csrf_token": client.csrf_token, "outcome": "partially",
                                  "note": "Called; replacement shipped."})
    assert done.status_code == 303
    db.session.expire_all()
    follow_up = db.session.get(RecoveryFollowUp, follow_up.id)
    assert follow_up.status == RecoveryStatus.DONE and follow_up.resurvey_invitation_id
    page = client.get(f"/console/recovery/{follow_up.id}").get_data(as_text=True)
    assert "Called; replacement shipped." in page and 'id="close-form"' not in page
    again = client.post(url, data={"csrf_token": client.csrf_token, "outcome": "resolved",
                                   "note": "Again."})
    assert again.status_code == 409


def test_closing_someone_elses_is_not_found(client, console_login, make_user, opened):
    console_login(client, make_user("lead"))
    response = client.post(f"/console/recovery/{opened['fresh'].id}/close",
                           data={"csrf_token": client.csrf_token, "outcome": "resolved",
                                 "note": "Called."})
    assert response.status_code == 404


def test_the_nav_links_to_the_list(client, console_login, lead, opened):
    console_login(client, lead)
    assert 'href="/console/recovery/"' in client.get("/console/recovery/").get_data(
        as_text=True)


def test_due_times_show_in_the_readers_zone(client, console_login, lead, opened):
    lead.timezone = "UTC"
    db.session.commit()
    console_login(client, lead)
    html = client.get(f"/console/recovery/{opened['overdue'].id}").get_data(as_text=True)
    due = opened["overdue"].due_at
    assert due.strftime("%Y-%m-%d %H:%M") in html
    assert (due + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") not in html
