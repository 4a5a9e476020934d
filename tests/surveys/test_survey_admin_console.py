"""The survey admin pages: settings form, campaign list, new campaign, start and cancel."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.directory.models import Account, AccountProduct, Contact, Tier
from service.extensions import db
from surveys import settings as survey_settings
from surveys.admin_forms import SETTING_LABELS
from surveys.models import CampaignStatus, SurveyCampaign

PREFIX = "/console/admin/surveys"


@pytest.fixture
def admin_client(app, console_login, make_user):
    return console_login(app.test_client(), make_user("admin"))


@pytest.fixture
def segment_data(app, make_user):
    rep = make_user("sales", name="Rita Rep")
    account = Account(name="Acme <b>", tier=Tier.VIP, sales_owner_id=rep.id)
    db.session.add(account)
    db.session.flush()
    db.session.add(AccountProduct(account_id=account.id, product="Analytics"))
    db.session.add_all([Contact(name=f"C{n}", email=f"c{n}@acme.test", account_id=account.id)
                        for n in range(3)])
    db.session.add(Contact(name="Loner", email="loner@example.com"))
    db.session.commit()
    return rep


def _settings_form(**overrides) -> dict:
    current = survey_settings.current()
    data = {}
    for name in SETTING_LABELS:
        value = getattr(current, name)
        if isinstance(value, bool):
            if value:
                data[name] = "y"
        else:
            data[name] = str(value)
    data.update(overrides)
    return data


def test_the_settings_page_shows_every_group_and_saves(admin_client):
    page = admin_client.get(f"{PREFIX}/settings")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for group in ("CSAT", "NPS", "Fatigue and links", "Service recovery", "Opportunities",
                  "Account health", "Revisits"):
        assert f"<legend>{group}</legend>" in text
    data = _settings_form(fatigue_days="21", csrf_token=admin_client.csrf_token)
    data.pop("nps_enabled")  # an unticked box
    reply = admin_client.post(f"{PREFIX}/settings", data=data)
    assert reply.status_code == 303
    db.session.expire_all()
    current = survey_settings.current()
    assert current.fatigue_days == 21 and current.nps_enabled is False


@pytest.mark.parametrize("field, value", [
    ("fatigue_days", "0"), ("recovery_csat_max", "5"), ("recovery_nps_max", "9"),
    ("csat_delay_minutes", "-5"), ("token_days", "abc"), ("edit_hours", ""),
])
def test_bad_settings_show_the_form_again(admin_client, field, value):
    data = _settings_form(**{field: value}, csrf_token=admin_client.csrf_token)
    reply = admin_client.post(f"{PREFIX}/settings", data=data)
    assert reply.status_code == 400
    assert 'aria-invalid="true"' in reply.get_data(as_text=True)
    db.session.expire_all()
    assert survey_settings.current().fatigue_days == 30


def test_settings_without_csrf_are_refused(admin_client):
    reply = admin_client.post(f"{PREFIX}/settings", data=_settings_form(fatigue_days="2"))
    assert reply.status_code == 400
    db.session.expire_all()
    assert survey_settings.current().fatigue_days == 30


def test_only_admins_open_the_pages(app, console_login, make_user):
    for role in ("agent", "lead", "sales"):
        client = console_login(app.test_client(), make_user(role))
        assert client.get(f"{PREFIX}/settings").status_code == 403
        assert client.get(f"{PREFIX}/campaigns").status_code == 403
    anonymous = app.test_client().get(f"{PREFIX}/settings")
    assert anonymous.status_code == 302


def test_new_campaign_preview_then_save(admin_client, segment_data):
    page = admin_client.get(f"{PREFIX}/campaigns/new")
    assert page.status_code == 200
    assert "Rita Rep" in page.get_data(as_text=True)
    form = {"csrf_token": admin_client.csrf_token, "name": "VIP pulse", "tier": "vip",
            "product": "Analytics", "owner_id": str(segment_data.id), "last_contact_days": ""}
    preview = admin_client.post(f"{PREFIX}/campaigns/new", data={**form, "action": "preview"})
    assert preview.status_code == 200
    assert "3 contacts match this segment now." in preview.get_data(as_text=True)
    assert db.session.scalar(select(SurveyCampaign)) is None
    unnamed = admin_client.post(f"{PREFIX}/campaigns/new",
                                data={**form, "name": "", "action": "preview"})
    assert unnamed.status_code == 200  # a count needs no name yet
    assert "3 contacts match this segment now." in unnamed.get_data(as_text=True)
    saved = admin_client.post(f"{PREFIX}/campaigns/new", data={**form, "action": "create"})
    assert saved.status_code == 303
    campaign = db.session.scalar(select(SurveyCampaign))
    assert campaign.segment == {"tier": "vip", "product": "Analytics",
                                "owner_id": segment_data.id}
    assert saved.headers["Location"].endswith(f"/campaigns/{campaign.id}")


@pytest.mark.parametrize("changes, marked", [
    ({"name": ""}, "name"), ({"tier": "gold"}, "tier"), ({"product": "Nope"}, "product"),
    ({"owner_id": "abc"}, "owner_id"), ({"last_contact_days": "0"}, "last_contact_days"),
])
def test_bad_campaign_forms_are_shown_again(admin_client, segment_data, changes, marked):
    form = {"csrf_token": admin_client.csrf_token, "name": "X", "action": "create", **changes}
    reply = admin_client.post(f"{PREFIX}/campaigns/new", data=form)
    assert reply.status_code == 400
    text = reply.get_data(as_text=True)
    assert f'id="{marked}-errors"' in text
    assert db.session.scalar(select(SurveyCampaign)) is None


def test_campaign_page_start_and_cancel(admin_client, segment_data):
    campaign = SurveyCampaign(name="Pulse <script>", segment={"tier": "vip"})
    db.session.add(campaign)
    db.session.commit()
    url = f"{PREFIX}/campaigns/{campaign.id}"
    page = admin_client.get(url).get_data(as_text=True)
    assert "Pulse &lt;script&gt;" in page and "Pulse <script>" not in page
    assert "Start campaign" in page and "Cancel campaign" in page
    listing = admin_client.get(f"{PREFIX}/campaigns").get_data(as_text=True)
    assert "Pulse &lt;script&gt;" in listing
    started = admin_client.post(url + "/start", data={"csrf_token": admin_client.csrf_token})
    assert started.status_code == 303
    page = admin_client.get(url).get_data(as_text=True)
    assert '<dd id="count-targeted">3</dd>' in page
    assert '<dd id="count-invited">3</dd>' in page and "Start campaign" not in page
    db.session.expire_all()
    assert db.session.get(SurveyCampaign, campaign.id).status == CampaignStatus.DONE
    again = admin_client.post(url + "/start", data={"csrf_token": admin_client.csrf_token})
    assert again.status_code == 409
    assert admin_client.post(url + "/cancel",
                             data={"csrf_token": admin_client.csrf_token}).status_code == 409
    assert admin_client.get(f"{PREFIX}/campaigns/9999").status_code == 404


def test_cancel_a_draft_from_its_page(admin_client):
    campaign = SurveyCampaign(name="Draft", segment={})
    db.session.add(campaign)
    db.session.commit()
    url = f"{PREFIX}/campaigns/{campaign.id}"
    assert admin_client.post(url + "/cancel").status_code == 400  # no CSRF token
    reply = admin_client.post(url + "/cancel", data={"csrf_token": admin_client.csrf_token})
    assert reply.status_code == 303
    db.session.expire_all()
    assert db.session.get(SurveyCampaign, campaign.id).status == CampaignStatus.CANCELLED


def test_the_nav_links_resolve(admin_client):
    page = admin_client.get(f"{PREFIX}/campaigns").get_data(as_text=True)
    assert f'href="{PREFIX}/settings"' in page
    assert f'href="{PREFIX}/campaigns"' in page
