"""Customer export and erasure: every domain's data of one customer, nothing of another;
erasure blanks personal data everywhere and keeps report numbers (SQLite here; the same
tests run on PostgreSQL in test_privacy_pg.py)."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from knowledge_base.models import (Article, ArticleFeedback, ArticleKind, ArticleStatus,
                                   Audience, Deflection, DeflectionSource)
from knowledge_base.visitors import contact_visitor_key
from service.db_types import utcnow
from service.directory.models import Contact
from service.errors import Conflict
from service.extensions import db
from service.privacy import erase, export
from service.privacy.cli import privacy_cli
from service.privacy.console import blueprint as console_blueprint
from surveys.models import (Invitation, InvitationStatus, InvitationTrigger, SurveyKind,
                            SurveyOptOut, SurveyResponse)
from surveys.reports import metrics
from service.reports import engine, registry
from service.reports.query import Grouping, Slice
from tests.surveys.helpers import close_ticket
from tickets import conversation
from tickets.channels.chat.models import ChatSession
from tickets.channels.email.models import InboundEmail
from tickets.channels.phone.models import (CallDirection, CallEffect, CallLog, CallOutcome,
                                           CallSource)
from tickets.models import (ActorKind, Attachment, AttachmentBlob, Channel, Message, Ticket,
                            Visibility)
from tickets.portal.models import PortalSignInLink
from tickets.resolution.models import (Confirmation, ConfirmationChannel, ConfirmationOutcome,
                                       Resolution)

# What must vanish from every table once Zelda is erased.
ZELDA_TRACES = ("Zelda", "Quixote", "zelda@example.com", "13800138000", "138-0013",
                "secret-body-A", "A-comment", "kb-comment-A", "rec-A", "raw-A", "shop/zelda",
                "confirm-A", "zelda-voicemail", "zelda.png", "Zelda-Bytes")
PERIOD = Slice(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@pytest.fixture
def db_app(app):
    """The app the tests run on (PostgreSQL in test_privacy_pg.py)."""
    return app


@pytest.fixture
def web(db_app):
    # The lead registers the console blueprint in the app factory; until then, here.
    if "privacy_console" not in db_app.blueprints:
        db_app.register_blueprint(console_blueprint)
    return db_app.test_client()


def _survey(person: Contact, kind: SurveyKind, score: int, comment: str | None,
            ticket_id: int | None = None) -> SurveyResponse:
    now = utcnow()
    invitation = Invitation(kind=kind, trigger=InvitationTrigger.CAMPAIGN,
                            status=InvitationStatus.ANSWERED, contact_id=person.id,
                            ticket_id=ticket_id, send_at=now, sent_at=now, answered_at=now,
                            token_hash=hashlib.sha256(f"{person.id}{kind}".encode()).hexdigest())
    db.session.add(invitation)
    db.session.flush()
    response = SurveyResponse(invitation_id=invitation.id, kind=kind, contact_id=person.id,
                              ticket_id=ticket_id, score=score, comment=comment,
                              ip="203.0.113.7", user_agent=f"{person.name.split()[0]}-Browser",
                              edit_until=now + timedelta(days=1))
    db.session.add(response)
    return response


def seed(make_ticket, make_user) -> dict:
    """Zelda (to erase) and Bob (to keep), each with data in every domain."""
    agent = make_user("agent")
    zelda_ticket = make_ticket(subject="Zelda's router broke",
                               description="My name is Zelda Quixote, call me.",
                               customer_email="zelda@example.com", customer_name="Zelda Quixote",
                               customer_phone="+86 138-0013 8000", customer_company="Quixote Ltd")
    bob_ticket = make_ticket(subject="Bob's printer", description="bob-body here",
                             customer_email="bob@example.com", customer_name="Bob Other")
    zelda = db.session.get(Contact, zelda_ticket.contact_id)
    bob = db.session.get(Contact, bob_ticket.contact_id)
    now = utcnow()
    message = conversation.add_customer_message(zelda_ticket, zelda.id, "secret-body-A",
                                                Channel.EMAIL, now,
                                                original_body="secret-body-A quoted")
    conversation.add_staff_message(zelda_ticket, agent, "Hello Zelda Quixote, fixed.",
                                   Visibility.PUBLIC, now)
    conversation.add_staff_message(zelda_ticket, agent, "internal: Zelda is upset",
                                   Visibility.INTERNAL, now)
    data = b"Zelda-Bytes"
    sha = hashlib.sha256(data).hexdigest()
    db.session.add(AttachmentBlob(sha256=sha, size=len(data), data=data))
    db.session.flush()  # no relationship orders the two inserts
    db.session.add(Attachment(ticket_id=zelda_ticket.id, message_id=message.id,
                              filename="zelda.png", content_type="image/png",
                              size=len(data), sha256=sha))
    zelda_ticket.priority_reason = "VIP account Quixote Ltd (zelda@example.com)"
    resolution = Resolution(ticket_id=zelda_ticket.id, summary="Reset for Zelda Quixote",
                            root_cause="firmware", verification_method="call",
                            verification_result="works")
    db.session.add(resolution)
    db.session.flush()
    db.session.add(Confirmation(resolution_id=resolution.id, ticket_id=zelda_ticket.id,
                                outcome=ConfirmationOutcome.CONFIRMED,
                                channel=ConfirmationChannel.EMAIL_LINK,
                                actor_kind=ActorKind.CUSTOMER, contact_id=zelda.id,
                                ip_address="203.0.113.7", comment="confirm-A"))
    db.session.add(PortalSignInLink(token_hash="a" * 64, contact_id=zelda.id,
                                    expires_at=now + timedelta(hours=1)))
    db.session.add(ChatSession(ticket_id=zelda_ticket.id, contact_id=zelda.id,
                               token_hash="b" * 64, language="en",
                               page_url="https://shop/zelda", user_agent="Zelda-Browser",
                               last_seen_at=now, expires_at=now + timedelta(hours=1)))
    db.session.add(CallLog(ticket_id=zelda_ticket.id, contact_id=zelda.id,
                           direction=CallDirection.INBOUND, caller_number="+8613800138000",
                           callee_number="+861000", started_at=now, duration_seconds=60,
                           outcome=CallOutcome.VOICEMAIL, recording_ref="rec-A",
                           voicemail_transcript="zelda-voicemail", source=CallSource.STAFF,
                           effect=CallEffect.RECORDED))
    db.session.add(InboundEmail(message_id="m1@example.com", source="http",
                                raw=b"From: zelda@example.com\r\n\r\nraw-A", size=40,
                                from_address="zelda@example.com", subject="Zelda's router",
                                ticket_id=zelda_ticket.id))
    _survey(zelda, SurveyKind.CSAT, 2, "A-comment", zelda_ticket.id)
    _survey(zelda, SurveyKind.NPS, 3, "A-comment again")
    _survey(bob, SurveyKind.CSAT, 5, "bob-comment", bob_ticket.id)
    _survey(bob, SurveyKind.NPS, 10, None)
    article = Article(kind=ArticleKind.HOWTO, title="Routers", language="en",
                      audience=Audience.PUBLIC, status=ArticleStatus.PUBLISHED, sections={},
                      tags=[])
    db.session.add(article)
    db.session.flush()
    db.session.add(ArticleFeedback(article_id=article.id,
                                   visitor_key=contact_visitor_key(zelda.id), helpful=False,
                                   comment="kb-comment-A"))
    db.session.add(Deflection(article_id=article.id, source=DeflectionSource.PORTAL,
                              query="Zelda router", contact_id=zelda.id))
    db.session.commit()
    close_ticket(zelda_ticket)
    close_ticket(bob_ticket)
    return {"zelda": zelda.id, "bob": bob.id, "zelda_ticket": zelda_ticket.id,
            "bob_ticket": bob_ticket.id}


def numbers() -> dict:
    """What reports count: rows, and the surveys' own CSAT and NPS numbers."""
    counts = {name: db.session.scalar(select(func.count()).select_from(model))
              for name, model in (("tickets", Ticket), ("messages", Message),
                                  ("responses", SurveyResponse), ("attachments", Attachment),
                                  ("calls", CallLog), ("deflections", Deflection),
                                  ("feedback", ArticleFeedback), ("contacts", Contact))}
    counts["csat"] = metrics.csat(PERIOD)["total"]
    counts["nps"] = metrics.nps(PERIOD)["total"]
    counts["attachment_bytes"] = db.session.scalar(select(func.sum(Attachment.size)))
    # Every registered report, in total and by channel where it has that breakdown.
    for report in registry.reports():
        counts[f"report {report.name}"] = engine.run(report.metric, PERIOD)["total"]
        if Grouping.CHANNEL in report.metric.dimensions:
            counts[f"report {report.name} by channel"] = engine.run(
                report.metric, PERIOD, Grouping.CHANNEL, top=None)["groups"]
    assert len(counts) > 12  # the reports are registered
    return counts


def traces(needles=ZELDA_TRACES) -> list[tuple[str, str]]:
    """(table, needle) for every needle still found in any column of any table."""
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).all():
            blob = " ".join(value.decode("utf-8", "replace") if isinstance(value, bytes)
                            else json.dumps(value, ensure_ascii=False, default=str)
                            if isinstance(value, (dict, list)) else str(value)
                            for value in row)
            found.extend((table.name, needle) for needle in needles if needle in blob)
    return sorted(set(found))


# ---------------------------------------------------------------------------- export

def test_export_has_every_domain_of_the_contact_and_nothing_of_another(db_app, make_ticket,
                                                                       make_user):
    ids = seed(make_ticket, make_user)
    document = export.export_customer(ids["zelda"])
    db.session.commit()
    assert document["contact"]["email"] == "zelda@example.com"
    assert document["contact"]["phone"] == "+86 138-0013 8000"
    assert document["contact"]["erased"] is False
    [ticket] = document["tickets"]["tickets"]
    assert ticket["subject"] == "Zelda's router broke"
    bodies = [message["body"] for message in ticket["messages"]]
    assert "secret-body-A" in bodies and "Hello Zelda Quixote, fixed." in bodies
    assert "internal: Zelda is upset" not in bodies  # internal notes are staff work
    assert ticket["events"] and ticket["attachments"][0]["download_path"].startswith(
        "/api/v1/attachments/")
    assert "data" not in ticket["attachments"][0]
    assert document["tickets"]["confirmations"][0]["comment"] == "confirm-A"
    assert document["tickets"]["phone_calls"][0]["recording_ref"] == "rec-A"
    assert document["tickets"]["chat_sessions"][0]["page_url"] == "https://shop/zelda"
    assert len(document["tickets"]["portal_sign_ins"]) == 1
    assert document["tickets"]["received_mail"][0]["from_address"] == "zelda@example.com"
    responses = document["surveys"]["responses"]
    assert sorted(item["score"] for item in responses) == [2, 3]
    assert {item["comment"] for item in responses} == {"A-comment", "A-comment again"}
    assert document["knowledge_base"]["article_feedback"][0]["comment"] == "kb-comment-A"
    assert document["knowledge_base"]["deflections"][0]["query"] == "Zelda router"
    assert document["outbound_mail"]  # the acknowledgement and the reply
    text_out = json.dumps(document, ensure_ascii=False)
    for foreign in ("bob@example.com", "Bob Other", "bob-body", "bob-comment", "Bob's printer"):
        assert foreign not in text_out
    # No secrets: token hashes, tokens and mail bodies (they carry links) stay out.
    for secret in ("a" * 64, "b" * 64, "token_hash"):
        assert secret not in text_out


def test_find_contact_by_email_or_id_and_bad_references(db_app, make_ticket, make_user):
    ids = seed(make_ticket, make_user)
    assert export.find_contact("ZELDA@example.com").id == ids["zelda"]
    assert export.find_contact(str(ids["zelda"])).id == ids["zelda"]
    from service.errors import InvalidInput, NotFound
    with pytest.raises(NotFound):
        export.find_contact("nobody@example.com")
    with pytest.raises(InvalidInput):
        export.find_contact("zelda")
    for unknown in ("99999999999", 2**40, 0):  # beyond the integer range: not found, no 500
        with pytest.raises(NotFound):
            export.find_contact(unknown)
    with pytest.raises(InvalidInput):
        export.find_contact("²")  # a digit to str.isdigit, not to int()


# ---------------------------------------------------------------------------- erase

def test_erase_blanks_personal_data_everywhere_and_keeps_the_numbers(db_app, make_ticket,
                                                                     make_user):
    ids = seed(make_ticket, make_user)
    before = numbers()
    assert traces()  # the scan finds what it looks for
    bob_before = export.export_customer(ids["bob"], record=False)
    summary = erase.erase_customer(ids["zelda"], reason="customer request 2026-12-01")
    assert summary.changed > 0 and not summary.already_erased
    assert summary.domains["tickets"]["messages"] >= 3
    assert summary.domains["directory"]["contacts"] == 1
    assert numbers() == before
    assert traces() == []
    zelda = db.session.get(Contact, ids["zelda"])
    assert zelda.name == f"Erased customer {ids['zelda']}"
    assert zelda.email == f"erased-{ids['zelda']}@invalid"
    assert zelda.phone is None and zelda.company is None and zelda.phone_normalized is None
    ticket = db.session.get(Ticket, ids["zelda_ticket"])
    assert ticket.subject == "[erased]" and ticket.status.value == "closed"
    assert ticket.priority is not None and ticket.first_responded_at is not None
    assert "Quixote" not in ticket.priority_reason and "zelda@" not in ticket.priority_reason
    assert db.session.scalar(select(func.count()).select_from(PortalSignInLink)) == 0
    assert db.session.get(SurveyOptOut, ids["zelda"]) is not None  # never surveyed again
    responses = db.session.scalars(select(SurveyResponse).where(
        SurveyResponse.contact_id == ids["zelda"])).all()
    assert sorted(row.score for row in responses) == [2, 3]
    assert all(row.comment is None and row.ip is None for row in responses)
    assert db.session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.contact_id == ids["zelda"], Invitation.token_hash.is_not(None))) == 0
    # Bob is untouched.
    bob_after = export.export_customer(ids["bob"], record=False)
    for document in (bob_before, bob_after):
        document.pop("exported_at")
    assert bob_after == bob_before
    # The export of an erased customer says so and holds nothing personal.
    text_out = json.dumps(export.export_customer(ids["zelda"], record=False))
    assert '"erased": true' in text_out
    assert not [needle for needle in ZELDA_TRACES if needle in text_out]


def test_erase_is_idempotent(db_app, make_ticket, make_user):
    ids = seed(make_ticket, make_user)
    erase.erase_customer(ids["zelda"], reason="request")
    after_first = numbers()
    again = erase.erase_customer(ids["zelda"], reason="request")
    assert again.already_erased and again.changed == 0
    assert numbers() == after_first and traces() == []


def test_open_tickets_refuse_unless_forced_and_nothing_is_written(db_app, make_ticket,
                                                                  make_user):
    ids = seed(make_ticket, make_user)
    open_ticket = make_ticket(subject="Still broken", customer_email="zelda@example.com")
    with pytest.raises(Conflict) as refused:
        erase.erase_customer(ids["zelda"], reason="request")
    assert open_ticket.number in str(refused.value.detail)
    assert db.session.get(Contact, ids["zelda"]).name == "Zelda Quixote"
    summary = erase.erase_customer(ids["zelda"], reason="request", force=True)
    assert summary.domains["tickets"]["tickets"] == 2
    assert db.session.get(Ticket, open_ticket.id).status.value in ("new", "open")


def test_a_failing_domain_rolls_everything_back(db_app, make_ticket, make_user, monkeypatch):
    ids = seed(make_ticket, make_user)
    from service.privacy import registry

    registry.load_hooks()
    original = registry._domains["surveys"]

    def broken(contact_id: int, token: str) -> int:
        original.erase(contact_id, token)
        raise RuntimeError("disk full")

    monkeypatch.setitem(registry._domains, "surveys",
                        registry.PrivacyDomain("surveys", original.export, broken))
    with pytest.raises(RuntimeError):
        erase.erase_customer(ids["zelda"], reason="request")
    db.session.expire_all()
    assert db.session.get(Contact, ids["zelda"]).email == "zelda@example.com"
    assert db.session.get(Ticket, ids["zelda_ticket"]).subject == "Zelda's router broke"
    assert db.session.scalar(select(func.count()).select_from(SurveyResponse).where(
        SurveyResponse.comment == "A-comment")) == 1


def test_shared_attachment_bytes_stay_for_the_other_customer(db_app, make_ticket, make_user):
    ids = seed(make_ticket, make_user)
    sha = db.session.scalar(select(Attachment.sha256).where(
        Attachment.ticket_id == ids["zelda_ticket"]))
    db.session.add(Attachment(ticket_id=ids["bob_ticket"], filename="same.png",
                              content_type="image/png", size=11, sha256=sha))
    db.session.commit()
    erase.erase_customer(ids["zelda"], reason="request")
    assert db.session.get(AttachmentBlob, sha) is not None  # still Bob's file
    zelda_file = db.session.scalar(select(Attachment).where(
        Attachment.ticket_id == ids["zelda_ticket"]))
    assert zelda_file.sha256 == hashlib.sha256(b"").hexdigest() and zelda_file.size == 11


# ---------------------------------------------------------------------------- API

def test_api_export_and_erase(db_app, make_ticket, make_user, auth):
    ids = seed(make_ticket, make_user)
    admin = make_user("admin")
    client = db_app.test_client()
    response = client.get(f"/api/v1/admin/customers/{ids['zelda']}/export", headers=auth(admin))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.get_json()["contact"]["email"] == "zelda@example.com"

    url = f"/api/v1/admin/customers/{ids['zelda']}/erase"
    wrong = client.post(url, json={"confirm": "bob@example.com", "reason": "x"},
                        headers=auth(admin))
    assert wrong.status_code == 400
    assert wrong.content_type.startswith("application/problem+json")
    assert "confirm" in wrong.get_json()["errors"]
    missing = client.post(url, json={"confirm": "zelda@example.com"}, headers=auth(admin))
    assert missing.status_code == 400
    unknown = client.post(url, json={"confirm": "zelda@example.com", "reason": "r", "x": 1},
                          headers=auth(admin))
    assert unknown.status_code == 400
    assert db.session.get(Contact, ids["zelda"]).email == "zelda@example.com"

    done = client.post(url, json={"confirm": "Zelda@Example.com ", "reason": "request"},
                       headers=auth(admin))
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["contact_id"] == ids["zelda"] and body["changed"] > 0
    assert set(body["domains"]) >= {"tickets", "surveys", "knowledge_base", "directory"}
    assert client.post("/api/v1/admin/customers/999999/erase",
                       json={"confirm": "a@b.c", "reason": "r"},
                       headers=auth(admin)).status_code == 404


@pytest.mark.parametrize("role", ["lead", "agent"])
def test_api_refuses_non_admins(db_app, make_ticket, make_user, auth, role):
    ids = seed(make_ticket, make_user)
    user = make_user(role)
    client = db_app.test_client()
    assert client.get(f"/api/v1/admin/customers/{ids['zelda']}/export",
                      headers=auth(user)).status_code == 403
    assert client.post(f"/api/v1/admin/customers/{ids['zelda']}/erase",
                       json={"confirm": "zelda@example.com", "reason": "r"},
                       headers=auth(user)).status_code == 403
    assert client.get(f"/api/v1/admin/customers/{ids['zelda']}/export").status_code == 401
    assert db.session.get(Contact, ids["zelda"]).email == "zelda@example.com"


def test_api_open_tickets_conflict(db_app, make_ticket, make_user, auth):
    ids = seed(make_ticket, make_user)
    make_ticket(subject="Still broken", customer_email="zelda@example.com")
    admin = make_user("admin")
    url = f"/api/v1/admin/customers/{ids['zelda']}/erase"
    refused = db_app.test_client().post(url, json={"confirm": "zelda@example.com",
                                                   "reason": "r"}, headers=auth(admin))
    assert refused.status_code == 409
    forced = db_app.test_client().post(url, json={"confirm": "zelda@example.com",
                                                  "reason": "r", "force": True},
                                       headers=auth(admin))
    assert forced.status_code == 200


# ---------------------------------------------------------------------------- console

def test_console_panel_export_and_erase(db_app, web, make_ticket, make_user, console_login):
    ids = seed(make_ticket, make_user)
    admin = make_user("admin")
    console_login(web, admin)
    page = web.get(f"/console/customers/{ids['zelda']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="contact-privacy"' in html and "privacy/customers" in html

    download = web.get(f"/console/admin/privacy/customers/{ids['zelda']}/export")
    assert download.status_code == 200 and "attachment" in download.headers[
        "Content-Disposition"]
    url = f"/console/admin/privacy/customers/{ids['zelda']}/erase"
    assert web.get(url).status_code == 200
    no_csrf = web.post(url, data={"confirm": "zelda@example.com", "reason": "r"})
    assert no_csrf.status_code == 400
    wrong = web.post(url, data={"csrf_token": web.csrf_token, "confirm": "bob@example.com",
                                "reason": "r"})
    assert wrong.status_code == 400 and "field-error" in wrong.get_data(as_text=True)
    no_reason = web.post(url, data={"csrf_token": web.csrf_token,
                                    "confirm": "zelda@example.com", "reason": ""})
    assert no_reason.status_code == 400
    assert db.session.get(Contact, ids["zelda"]).email == "zelda@example.com"
    done = web.post(url, data={"csrf_token": web.csrf_token, "confirm": "zelda@example.com",
                               "reason": "request"})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Contact, ids["zelda"]).email == f"erased-{ids['zelda']}@invalid"


def test_console_hides_panel_and_refuses_actions_for_leads(db_app, web, make_ticket,
                                                           make_user, console_login):
    ids = seed(make_ticket, make_user)
    lead = make_user("lead")
    console_login(web, lead)
    page = web.get(f"/console/customers/{ids['zelda']}")
    assert page.status_code == 200 and 'id="contact-privacy"' not in page.get_data(as_text=True)
    assert web.get(f"/console/admin/privacy/customers/{ids['zelda']}/export").status_code == 403
    assert web.post(f"/console/admin/privacy/customers/{ids['zelda']}/erase",
                    data={"csrf_token": web.csrf_token, "confirm": "zelda@example.com",
                          "reason": "r"}).status_code == 403


# ---------------------------------------------------------------------------- CLI

def test_cli_export_and_erase(db_app, make_ticket, make_user, tmp_path):
    ids = seed(make_ticket, make_user)
    runner = db_app.test_cli_runner()
    out = tmp_path / "zelda.json"
    result = runner.invoke(privacy_cli, ["export", "zelda@example.com", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["contact"]["id"] == ids["zelda"]
    printed = runner.invoke(privacy_cli, ["export", str(ids["bob"])])
    assert printed.exit_code == 0 and json.loads(printed.stdout)["contact"]["name"] == "Bob Other"

    missing = runner.invoke(privacy_cli, ["erase", "nobody@example.com", "--reason", "r",
                                          "--yes"])
    assert missing.exit_code != 0 and "No such customer" in missing.output
    declined = runner.invoke(privacy_cli, ["erase", "zelda@example.com", "--reason", "r"],
                             input="n\n")
    assert declined.exit_code != 0
    assert db.session.get(Contact, ids["zelda"]).email == "zelda@example.com"
    done = runner.invoke(privacy_cli, ["erase", "zelda@example.com", "--reason",
                                       "ticket 42 request", "--yes"])
    assert done.exit_code == 0, done.output
    assert "erased customer" in done.output
    db.session.expire_all()
    assert traces() == []
    again = runner.invoke(privacy_cli, ["erase", str(ids["zelda"]), "--reason", "r", "--yes"])
    assert again.exit_code == 0 and "0 rows changed" in again.output


def test_cli_refuses_open_tickets_without_force(db_app, make_ticket, make_user):
    ids = seed(make_ticket, make_user)
    make_ticket(subject="Still broken", customer_email="zelda@example.com")
    runner = db_app.test_cli_runner()
    refused = runner.invoke(privacy_cli, ["erase", "zelda@example.com", "--reason", "r",
                                          "--yes"])
    assert refused.exit_code != 0 and "open" in refused.output
    forced = runner.invoke(privacy_cli, ["erase", "zelda@example.com", "--reason", "r",
                                         "--yes", "--force"])
    assert forced.exit_code == 0, forced.output
    assert db.session.get(Contact, ids["zelda"]).name.startswith("Erased customer")



def test_export_and_erase_write_audit_entries(db_app, make_ticket, make_user):
    from service.audit.models import AuditEntry

    ids = seed(make_ticket, make_user)
    export.export_customer(ids["zelda"])
    erase.erase_customer(ids["zelda"], reason="request")  # commits both entries
    db.session.expire_all()
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("customer.%"))
                              .order_by(AuditEntry.id)).all()
    assert [row.action for row in rows] == ["customer.export", "customer.erase"]
    assert all((row.object_type, row.object_id) == ("contact", str(ids["zelda"]))
               for row in rows)
    assert rows[1].changes["reason"] == [None, "request"]
    # Nothing personal goes into the append-only log.
    assert "zelda" not in json.dumps([row.changes for row in rows]).lower()
