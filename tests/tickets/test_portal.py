"""The customer portal: magic-link sign-in, the session, the list, replies, new requests,
and the customer's answer to a resolution (from the ticket page and from the mail links)."""
from __future__ import annotations

import hashlib
import io
import re
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from service.db_types import utcnow
from service.directory.models import Account, Contact
from service.extensions import db
from service.notify.models import OutboundMail
from tests.conftest import post_spooled
from tickets.models import (Attachment, Channel, Message, Priority, Status, Ticket,
                            Visibility)
from tickets.portal.models import PortalSignInLink

UA = "Mozilla/5.0 (Portal test) Firefox/140.0"


# ---- helpers (test_portal_access imports them too) ----

def csrf_of(html: str | bytes) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text).group(1)


def sign_in(client, contact: Contact, scope: str | list[int] = "all") -> None:
    """Put a portal session in the client's cookie (the magic-link flow has its own test)."""
    with client.session_transaction() as session:
        session["portal"] = {"c": contact.id, "s": scope, "iat": int(time.time())}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def page_csrf(client, path: str = "/portal/login") -> str:
    return csrf_of(client.get(path).data)


def sign_in_mails(address: str) -> list[OutboundMail]:
    return list(db.session.scalars(select(OutboundMail).where(
        OutboundMail.to_address == address, OutboundMail.dedupe_key.like("portal-sign-in:%"))))


def link_path(mail: OutboundMail) -> str:
    return re.search(r"http://support\.test(/portal/login/[A-Za-z0-9_\-]+)",
                     mail.body_text).group(1)


def ask_for_link(client, email: str):
    return client.post("/portal/login", data={"csrf_token": page_csrf(client), "email": email})


@pytest.fixture
def customer(make_ticket):
    """A contact with one ticket."""
    ticket = make_ticket(customer_email="casey@example.com", customer_name="Casey Customer",
                         subject="Printer offline")
    return ticket.contact


# ---- sign-in by magic link ----

def test_login_page_works_without_javascript(client):
    page = client.get("/portal/login")
    assert page.status_code == 200
    assert b"<script" not in page.data and b'name="csrf_token"' in page.data
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "strict-origin"


def test_not_signed_in_goes_to_the_sign_in_page(client):
    response = client.get("/portal")
    assert response.status_code == 302 and response.headers["Location"] == "/portal/login"
    assert client.get("/portal/tickets/T-000001").status_code == 302
    assert client.get("/portal/tickets/new").status_code == 302


def test_magic_link_signs_in_once(app, client, customer):
    response = ask_for_link(client, "  Casey@Example.COM ")
    assert response.status_code == 303 and response.headers["Location"] == "/portal/login/sent"
    assert "30 minutes" in client.get("/portal/login/sent").get_data(as_text=True)
    [mail] = sign_in_mails("casey@example.com")
    assert mail.body_html and "Casey Customer" in mail.body_text
    path = link_path(mail)
    token = path.rsplit("/", 1)[1]
    [link] = db.session.scalars(select(PortalSignInLink)).all()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()  # stored hashed only
    assert link.contact_id == customer.id and link.used_at is None
    assert timedelta(minutes=29) < link.expires_at - link.created_at <= timedelta(minutes=30)

    page = client.get(path)  # what a mail scanner does: nothing is used up
    assert page.status_code == 200 and b'type="submit"' in page.data
    assert page.headers["Cache-Control"] == "no-store"
    db.session.refresh(link)
    assert link.used_at is None
    assert client.get("/portal").status_code == 302  # a GET did not sign anyone in

    signed = client.post(path, data={"csrf_token": csrf_of(page.data)})
    assert signed.status_code == 303 and signed.headers["Location"] == "/portal"
    db.session.refresh(link)
    assert link.used_at is not None
    home = client.get("/portal")
    assert home.status_code == 200 and "Printer offline" in home.get_data(as_text=True)

    again = client.post(path, data={"csrf_token": csrf_of(page.data)})
    assert again.status_code == 409
    assert "already used" in again.get_data(as_text=True)
    assert client.get(path).status_code == 409


def test_expired_link_is_refused_with_410(client, customer):
    ask_for_link(client, "casey@example.com")
    path = link_path(sign_in_mails("casey@example.com")[0])
    csrf = csrf_of(client.get(path).data)
    with time_machine.travel(utcnow() + timedelta(minutes=31), tick=False):
        assert client.get(path).status_code == 410
        refused = client.post(path, data={"csrf_token": csrf})
        assert refused.status_code == 410 and "expired" in refused.get_data(as_text=True)
    assert db.session.scalar(select(PortalSignInLink.used_at)) is None
    assert client.get("/portal").status_code == 302


def test_unknown_or_mangled_link_is_404(client):
    page = client.get("/portal/login/not-a-link-we-made")
    assert page.status_code == 404 and "does not work" in page.get_data(as_text=True)
    assert client.get("/portal/login/" + "x" * 500).status_code == 404


def test_unknown_address_gets_the_same_answer_and_no_mail(client, customer):
    known = ask_for_link(client, "casey@example.com")
    unknown = ask_for_link(client, "nobody@example.com")
    assert unknown.status_code == known.status_code == 303
    assert unknown.headers["Location"] == known.headers["Location"]
    assert sign_in_mails("nobody@example.com") == []
    assert count(PortalSignInLink) == 1


def test_bad_address_shows_the_form_again(client):
    response = ask_for_link(client, "not an address")
    assert response.status_code == 400
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert count(PortalSignInLink) == 0


def test_missing_csrf_token_is_refused(client, customer):
    assert client.post("/portal/login", data={"email": "casey@example.com"}).status_code == 400
    assert count(PortalSignInLink) == 0


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "RATELIMIT_PORTAL_LINK_ADDRESS": "2 per 15 minutes"}])
def test_link_requests_are_limited_per_address(client, customer):
    from service.extensions import limiter

    limiter.reset()
    answers = [ask_for_link(client, address) for address in
               ("casey@example.com", "CASEY@example.com", "casey@example.com")]
    # The same neutral answer every time, but no third mail.
    assert {(answer.status_code, answer.headers["Location"]) for answer in answers} == {
        (303, "/portal/login/sent")}
    assert len(sign_in_mails("casey@example.com")) == 2
    limiter.reset()


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "RATELIMIT_PORTAL_LINK_CLIENT": "2 per minute"}])
def test_link_requests_are_limited_per_client(client, customer):
    from service.extensions import limiter

    limiter.reset()
    codes = [ask_for_link(client, f"someone{n}@example.com").status_code for n in range(3)]
    assert codes == [303, 303, 429]
    limiter.reset()


# ---- the session ----

def test_session_ends_after_its_lifetime(client, customer):
    sign_in(client, customer)
    assert client.get("/portal").status_code == 200
    with time_machine.travel(utcnow() + timedelta(hours=73), tick=False):
        assert client.get("/portal").status_code == 302
    with client.session_transaction() as session:
        assert "portal" not in session


def test_session_ends_with_a_deleted_contact(client):
    contact = Contact(email="gone@example.com", name="Gone Soon")
    db.session.add(contact)
    db.session.commit()
    sign_in(client, contact)
    assert client.get("/portal").status_code == 200
    db.session.delete(contact)
    db.session.commit()
    assert client.get("/portal").status_code == 302


def test_sign_out_leaves_a_console_session_alone(client, customer, make_user, console_login):
    agent = make_user("agent")
    console_login(client, agent)
    sign_in(client, customer)
    home = client.get("/portal")
    out = client.post("/portal/logout", data={"csrf_token": csrf_of(home.data)})
    assert out.status_code == 303 and out.headers["Location"] == "/portal/login"
    assert client.get("/portal").status_code == 302
    assert client.get("/console/tickets").status_code == 200  # still signed in there


def test_a_tampered_session_is_ignored(client, customer):
    with client.session_transaction() as session:
        session["portal"] = {"c": customer.id, "s": "everything", "iat": int(time.time())}
    assert client.get("/portal").status_code == 302


# ---- the list ----

@pytest.fixture
def account_people(make_ticket):
    """An account with an admin contact and a colleague, and an outsider; one ticket each."""
    account = Account(name="Acme Ltd")
    db.session.add(account)
    db.session.flush()
    admin = Contact(email="boss@acme.test", name="Ada Admin", account_id=account.id,
                    is_account_admin=True)
    colleague = Contact(email="colleague@acme.test", name="Cole League", account_id=account.id)
    outsider = Contact(email="out@other.test", name="Otto Outsider")
    db.session.add_all([admin, colleague, outsider])
    db.session.commit()
    tickets = {name: make_ticket(contact=contact, customer_email=contact.email,
                                 subject=f"Problem of {contact.name}")
               for name, contact in (("admin", admin), ("colleague", colleague),
                                     ("outsider", outsider))}
    return {"admin": admin, "colleague": colleague, "outsider": outsider, "tickets": tickets}


def test_list_shows_own_tickets_only(client, account_people):
    sign_in(client, account_people["colleague"])
    html = client.get("/portal").get_data(as_text=True)
    assert "Problem of Cole League" in html
    assert "Problem of Ada Admin" not in html and "Problem of Otto Outsider" not in html


def test_account_admin_sees_the_account_tickets_with_who_opened_them(client, account_people):
    sign_in(client, account_people["admin"])
    html = client.get("/portal").get_data(as_text=True)
    assert "Problem of Ada Admin" in html and "Problem of Cole League" in html
    assert "by Cole League" in html
    assert "Problem of Otto Outsider" not in html
    assert html.index("Problem of Cole League") < html.index("Problem of Ada Admin")  # newest first
    colleague_ticket = account_people["tickets"]["colleague"]
    assert client.get(f"/portal/tickets/{colleague_ticket.number}").status_code == 200


def test_list_pages_through_older_tickets(client, make_ticket):
    first = make_ticket(customer_email="many@example.com", subject="Ticket number 0")
    for n in range(1, 27):
        make_ticket(contact=first.contact, customer_email="many@example.com",
                    subject=f"Ticket number {n}")
    sign_in(client, first.contact)
    page_one = client.get("/portal").get_data(as_text=True)
    assert "Ticket number 26" in page_one and "Ticket number 0<" not in page_one
    older = re.search(r'href="(/portal\?before=\d+)"', page_one).group(1)
    page_two = client.get(older).get_data(as_text=True)
    assert "Ticket number 0<" in page_two and "Ticket number 26" not in page_two
    for junk in ("99999999999999999999999", "-5", "abc"):  # never a 500
        assert client.get(f"/portal?before={junk}").status_code == 200


def test_promise_in_plain_words(client, make_ticket, make_user, support_team):
    make_user("agent", team=support_team)
    moment = utcnow().replace(hour=1, minute=0, second=0, microsecond=0)  # 09:00 Shanghai
    with time_machine.travel(moment, tick=False):
        ticket = make_ticket(customer_email="promise@example.com", urgency=Priority.URGENT)
        sign_in(client, ticket.contact)
        html = client.get("/portal").get_data(as_text=True)
        # Urgent: answered within the hour; today's time needs no date.
        due = ticket.first_response_due_at.astimezone(ZoneInfo("Asia/Shanghai"))
        assert due.strftime("%H:%M") == "10:00"
        assert "We will answer by 10:00" in html
    ticket.status = Status.PENDING_CUSTOMER
    db.session.commit()
    html = client.get(f"/portal/tickets/{ticket.number}").get_data(as_text=True)
    assert "Waiting for your reply — our clock is paused" in html


def test_portal_speaks_chinese(client, customer):
    from flask_babel import refresh

    sign_in(client, customer)
    refresh()
    html = client.get("/portal?lang=zh_CN").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "Printer offline" in html
    assert "退出登录" in html  # "Sign out"
    refresh()
    ticket = client.get("/portal/tickets/T-000001").get_data(as_text=True)
    assert "沟通记录" in ticket and "处理人" in ticket  # "Conversation", "Handled by"
    refresh()
    assert 'lang="zh-CN"' in client.get("/portal/tickets/new").get_data(as_text=True)


# ---- a ticket: conversation, files, replies ----

def test_ticket_page_shows_public_messages_never_notes(client, customer, make_user):
    from tickets import attachments, conversation

    agent = make_user("agent")
    ticket = db.session.scalar(select(Ticket).where(Ticket.contact_id == customer.id))
    note = conversation.add_staff_message(ticket, agent, "INTERNAL: customer is grumpy",
                                          Visibility.INTERNAL, utcnow())
    secret = attachments.store(ticket.id, note.id, "secret.txt", b"internal only",
                               "text/plain", visibility=Visibility.INTERNAL)
    conversation.add_staff_message(ticket, agent, "We are looking at the printer.",
                                   Visibility.PUBLIC, utcnow())
    db.session.commit()
    sign_in(client, customer)
    page = client.get(f"/portal/tickets/{ticket.number}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "We are looking at the printer." in html
    assert "grumpy" not in html and "secret.txt" not in html
    assert client.get(f"/portal/tickets/{ticket.number}/attachments/{secret.id}"
                      ).status_code == 404


def reply_to(client, ticket, body="It still says offline.", files=()):
    page = client.get(f"/portal/tickets/{ticket.number}")
    data = {"csrf_token": csrf_of(page.data), "body": body,
            "attachments": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"/portal/tickets/{ticket.number}/reply", data=data,
                       content_type="multipart/form-data")


def test_reply_with_a_file(client, customer):
    ticket = db.session.scalar(select(Ticket).where(Ticket.contact_id == customer.id))
    ticket.status = Status.PENDING_CUSTOMER
    db.session.commit()
    sign_in(client, customer)
    response = reply_to(client, ticket, files=[("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)])
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/portal/tickets/{ticket.number}")
    message = db.session.scalars(select(Message).order_by(Message.id.desc())).first()
    assert message.body == "It still says offline." and message.channel == Channel.PORTAL
    assert message.author_contact_id == customer.id
    [file] = db.session.scalars(select(Attachment).where(Attachment.message_id == message.id))
    db.session.refresh(ticket)
    assert ticket.status == Status.OPEN  # the answer restarted the clock
    html = client.get(f"/portal/tickets/{ticket.number}").get_data(as_text=True)
    assert "Your message was sent." in html and "photo.png" in html
    download = client.get(f"/portal/tickets/{ticket.number}/attachments/{file.id}")
    assert download.status_code == 200 and download.data.startswith(b"\x89PNG")
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_reply_refusals_write_nothing(client, customer):
    ticket = db.session.scalar(select(Ticket).where(Ticket.contact_id == customer.id))
    sign_in(client, customer)
    before = count(Message)
    empty = reply_to(client, ticket, body="   ")
    assert empty.status_code == 400 and 'class="field-error"' in empty.get_data(as_text=True)
    too_many = reply_to(client, ticket, files=[(f"f{n}.txt", b"x") for n in range(6)])
    assert too_many.status_code == 400
    no_csrf = client.post(f"/portal/tickets/{ticket.number}/reply", data={"body": "hi"})
    assert no_csrf.status_code == 400
    assert count(Message) == before and count(Attachment) == 0


# ---- a new request ----

def test_new_request_is_idempotent_on_double_submit(client, customer):
    sign_in(client, customer)
    form = client.get("/portal/tickets/new")
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    data = {"csrf_token": csrf_of(html),
            "submission_id": re.search(r'name="submission_id"[^>]*value="([0-9a-f]{32})"',
                                       html).group(1),
            "subject": "Scanner jams", "description": "Every third page jams.",
            "urgency": "high", "product": "Scanner"}
    tickets_before = count(Ticket)
    first = client.post("/portal/tickets/new", data={
        **data, "attachments": [(io.BytesIO(b"log line"), "jam.log")]},
        content_type="multipart/form-data")
    second = client.post("/portal/tickets/new", data={
        **data, "attachments": [(io.BytesIO(b"log line"), "jam.log")]},
        content_type="multipart/form-data")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(Ticket) == tickets_before + 1
    ticket = db.session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
    assert (ticket.channel, ticket.contact_id, ticket.subject) == (
        Channel.PORTAL, customer.id, "Scanner jams")
    assert count(Attachment) == 1  # the replay stored no second copy
    assert client.get(first.headers["Location"]).status_code == 200


def test_new_request_bad_input_shows_the_form_again(client, customer):
    sign_in(client, customer)
    csrf = csrf_of(client.get("/portal/tickets/new").data)
    tickets_before = count(Ticket)
    response = client.post("/portal/tickets/new", data={
        "csrf_token": csrf, "subject": "", "description": "Something", "urgency": "critical"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert html.count('class="field-error"') >= 2 and "Something</textarea>" in html
    assert count(Ticket) == tickets_before


def test_ticket_link_from_a_mail_opens_that_ticket(app, customer):
    from tickets.portal_links import portal_url

    ticket = db.session.scalar(select(Ticket).where(Ticket.contact_id == customer.id))
    browser = app.test_client()
    path = portal_url(ticket.id, customer.id).removeprefix("http://support.test")
    opened = browser.get(path)
    assert opened.status_code == 200 and "Printer offline" in opened.get_data(as_text=True)
    assert opened.headers["Referrer-Policy"] == "strict-origin"  # the token stays ours
    assert opened.headers["Cache-Control"] == "no-store"
    # This browser may now use the ticket at its number (where the page's forms post).
    assert browser.get(f"/portal/tickets/{ticket.number}").status_code == 200
    html = browser.get("/portal").get_data(as_text=True)
    assert "Sign in to see all your requests." in html


def test_forms_pass_csrf_over_https_with_the_referrer_policy(app, customer):
    """strict-origin sends our origin with a form POST, which Flask-WTF's HTTPS check needs."""
    browser = app.test_client()
    page = browser.get("/portal/login", base_url="https://support.test")
    data = {"csrf_token": csrf_of(page.data), "email": "casey@example.com"}
    accepted = browser.post("/portal/login", data=data, base_url="https://support.test",
                            headers={"Referer": "https://support.test/"})
    assert accepted.status_code == 303
    refused = browser.post("/portal/login", data=data, base_url="https://support.test")
    assert refused.status_code == 400  # what "no-referrer" would have caused


# ---- the customer's answer to a resolution ----

@pytest.fixture
def resolved(make_ticket, make_user, support_team):
    """A ticket resolved by its agent, waiting for the customer's answer."""
    from tickets.resolution import services as resolution_services

    agent = make_user("agent", team=support_team)
    ticket = make_ticket(customer_email="rita@example.com", customer_name="Rita Resolved",
                         subject="VPN drops")
    resolution = resolution_services.resolve(
        agent, ticket, summary="Replaced the VPN gateway's certificate.",
        root_cause="The certificate had expired.", method="retested",
        result="Connected for an hour without a drop.")
    return {"ticket": ticket, "contact": ticket.contact, "resolution": resolution,
            "agent": agent}


def confirmations() -> list:
    from tickets.resolution.models import Confirmation

    return list(db.session.scalars(select(Confirmation).order_by(Confirmation.id)))


def answer_on_page(client, ticket, outcome: str, comment: str = "", resolution_id=None):
    page = client.get(f"/portal/tickets/{ticket.number}")
    html = page.get_data(as_text=True)
    shown = re.search(r'name="resolution_id"[^>]*value="(\d+)"', html)
    data = {"csrf_token": csrf_of(html), "outcome": outcome, "comment": comment,
            "resolution_id": resolution_id or (shown.group(1) if shown else "")}
    return client.post(f"/portal/tickets/{ticket.number}/confirm", data=data,
                       headers={"User-Agent": UA}, environ_base={"REMOTE_ADDR": "198.51.100.4"})


def test_confirm_from_the_ticket_page_closes_it(client, resolved):
    ticket = resolved["ticket"]
    sign_in(client, resolved["contact"])
    listed = client.get("/portal").get_data(as_text=True)
    assert "Resolved — please confirm" in listed
    html = client.get(f"/portal/tickets/{ticket.number}").get_data(as_text=True)
    assert "Replaced the VPN gateway&#39;s certificate." in html
    assert "Yes, it is fixed" in html and "No, still a problem" in html
    response = answer_on_page(client, ticket, "confirmed")
    assert response.status_code == 303
    db.session.refresh(ticket)
    assert ticket.status == Status.CLOSED and ticket.closed_reason.value == "confirmed"
    [evidence] = confirmations()
    assert (evidence.channel.value, evidence.contact_id, evidence.ip_address,
            evidence.user_agent) == ("portal", resolved["contact"].id, "198.51.100.4", UA)
    page = client.get(f"/portal/tickets/{ticket.number}").get_data(as_text=True)
    assert "Thank you for confirming" in page and "Yes, it is fixed" not in page


def test_still_a_problem_needs_a_comment_and_reopens(client, resolved):
    ticket = resolved["ticket"]
    sign_in(client, resolved["contact"])
    refused = answer_on_page(client, ticket, "rejected")
    assert refused.status_code == 400
    assert "Please tell us what is still wrong." in refused.get_data(as_text=True)
    assert confirmations() == []
    response = answer_on_page(client, ticket, "rejected", "Still drops every 10 minutes.")
    assert response.status_code == 303
    db.session.refresh(ticket)
    assert ticket.status == Status.REOPENED and ticket.reopen_count == 1
    [evidence] = confirmations()
    assert evidence.outcome.value == "rejected"
    assert evidence.comment == "Still drops every 10 minutes."


def test_confirm_twice_is_409(client, resolved):
    ticket = resolved["ticket"]
    sign_in(client, resolved["contact"])
    resolution_id = str(resolved["resolution"].id)
    assert answer_on_page(client, ticket, "confirmed").status_code == 303
    again = answer_on_page(client, ticket, "rejected", "Changed my mind",
                           resolution_id=resolution_id)
    assert again.status_code == 409
    assert "the fix was confirmed" in again.get_data(as_text=True)
    assert len(confirmations()) == 1


def mail_links(address: str) -> dict[str, str]:
    """outcome → path of the one-click links in the latest confirmation mail."""
    from tickets.resolution.links import read_confirmation_token

    mails = db.session.scalars(select(OutboundMail).where(OutboundMail.to_address == address)
                               .order_by(OutboundMail.id.desc()))
    for mail in mails:
        paths = re.findall(r"http://support\.test(/portal/confirm/[^\s\"'<>]+)", mail.body_text)
        if paths:
            return {read_confirmation_token(path.rsplit("/", 1)[1]).outcome: path
                    for path in paths}
    raise AssertionError("no confirmation mail")


def test_mail_link_get_records_nothing_post_records_with_evidence(client, resolved):
    ticket = resolved["ticket"]
    path = mail_links("rita@example.com")["confirmed"]
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and ticket.number in html
    assert "Replaced the VPN gateway" in html
    assert re.search(r'<input checked[^>]*value="confirmed"|value="confirmed"[^>]*checked', html)
    assert html.count('type="submit"') == 1  # one button
    assert page.headers["Cache-Control"] == "no-store"
    db.session.refresh(ticket)
    assert ticket.status == Status.RESOLVED and confirmations() == []
    answered = client.post(path, data={"csrf_token": csrf_of(html), "outcome": "confirmed"},
                           headers={"User-Agent": UA},
                           environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert answered.status_code == 200
    assert "Thank you for confirming" in answered.get_data(as_text=True)
    [evidence] = confirmations()
    assert (evidence.channel.value, evidence.contact_id, evidence.ip_address,
            evidence.user_agent) == ("email_link", resolved["contact"].id, "203.0.113.7", UA)
    db.session.refresh(ticket)
    assert ticket.status == Status.CLOSED
    assert client.get("/portal").status_code == 302  # the link signed nobody in
    again = client.get(path)
    assert again.status_code == 409 and "the fix was confirmed" in again.get_data(as_text=True)


def test_mail_link_still_a_problem(client, resolved):
    ticket = resolved["ticket"]
    path = mail_links("rita@example.com")["rejected"]
    html = client.get(path).get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="rejected"|value="rejected"[^>]*checked', html)
    no_comment = client.post(path, data={"csrf_token": csrf_of(html), "outcome": "rejected"})
    assert no_comment.status_code == 400 and confirmations() == []
    answered = client.post(path, data={"csrf_token": csrf_of(html), "outcome": "rejected",
                                       "comment": "It dropped again at noon."})
    assert answered.status_code == 200
    db.session.refresh(ticket)
    assert ticket.status == Status.REOPENED
    assert client.post(path, data={"csrf_token": csrf_of(html), "outcome": "rejected",
                                   "comment": "again"}).status_code == 409


def test_mail_link_wrong_or_expired(client, resolved):
    path = mail_links("rita@example.com")["confirmed"]
    assert client.get(path[:-3] + "xyz").status_code == 404
    assert client.get("/portal/confirm/garbage").status_code == 404
    with time_machine.travel(utcnow() + timedelta(days=31), tick=False):
        expired = client.get(path)
        assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert confirmations() == []


def test_mail_link_missing_csrf_is_refused(client, resolved):
    path = mail_links("rita@example.com")["confirmed"]
    assert client.post(path, data={"outcome": "confirmed"}).status_code == 400
    assert confirmations() == []


# ---- replies after closing ----

def test_reply_within_grace_reopens_the_closed_ticket(client, resolved):
    ticket = resolved["ticket"]
    sign_in(client, resolved["contact"])
    assert answer_on_page(client, ticket, "confirmed").status_code == 303
    with time_machine.travel(utcnow() + timedelta(days=2), tick=False):
        response = reply_to(client, ticket, body="It is back, sorry.")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/portal/tickets/{ticket.number}")
    db.session.refresh(ticket)
    assert ticket.status == Status.REOPENED
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_reply_after_grace_opens_a_linked_ticket(client, resolved):
    ticket = resolved["ticket"]
    sign_in(client, resolved["contact"], scope=[ticket.id])  # from a mail link: one ticket
    assert answer_on_page(client, ticket, "confirmed").status_code == 303
    with time_machine.travel(utcnow() + timedelta(days=8), tick=False):
        assert client.get("/portal").status_code == 302  # that session ended meanwhile
        sign_in(client, resolved["contact"], scope=[ticket.id])  # the mail link again
        response = reply_to(client, ticket, body="The VPN drops again.",
                            files=[("trace.txt", b"trace")])
        # (Read while still travelling: a cookie signed in the future is not accepted.)
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert response.status_code == 303
    follow_up = db.session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
    assert follow_up.id != ticket.id and follow_up.follow_up_of_id == ticket.id
    assert follow_up.channel == Channel.PORTAL and follow_up.contact_id == ticket.contact_id
    assert response.headers["Location"].startswith(f"/portal/tickets/{follow_up.number}")
    db.session.refresh(ticket)
    assert ticket.status == Status.CLOSED
    assert "The VPN drops again." in page and "trace.txt" in page
    assert f'href="/portal/tickets/{ticket.number}"' in page  # "Follows up on"


def test_sign_in_link_is_single_use_on_postgresql(pg_app, make_ticket):
    """The consuming UPDATE … WHERE used_at IS NULL on PostgreSQL: the second use loses."""
    from tickets.portal import sign_in as links

    make_ticket(customer_email="pg@example.com")
    assert links.request_link("pg@example.com")
    db.session.commit()
    token = link_path(sign_in_mails("pg@example.com")[0]).rsplit("/", 1)[1]
    assert links.consume_link(token).contact_id is not None
    db.session.commit()
    assert links.consume_link(token).problem == links.LinkProblem.USED
    client = pg_app.test_client()
    page = client.get("/portal/login")
    assert client.post(f"/portal/login/{token}",
                       data={"csrf_token": csrf_of(page.data)}).status_code == 409


@pytest.mark.parametrize("app_config", [{"ATTACHMENT_MAX_BYTES": 1024}])
def test_files_too_large_together_get_a_clean_413(client, customer, app_config):
    sign_in(client, customer)
    ticket = db.session.scalar(select(Ticket).where(Ticket.contact_id == customer.id))
    messages = count(Message)
    csrf = csrf_of(client.get(f"/portal/tickets/{ticket.number}").data)
    response = post_spooled(client, f"/portal/tickets/{ticket.number}/reply", {
        "csrf_token": csrf, "body": "Huge",
        "attachments": [(io.BytesIO(b"x" * (600 * 1024)), "huge.bin")]})
    assert response.status_code == 413
    assert "too large together" in response.get_data(as_text=True)
    assert count(Message) == messages and count(Attachment) == 0


def test_session_ends_when_the_contact_is_erased(client):
    from service.privacy import erase

    contact = Contact(email="erase-me@example.com", name="Erase Me")
    db.session.add(contact)
    db.session.commit()
    sign_in(client, contact)
    assert client.get("/portal").status_code == 200
    erase.erase_customer(contact.id, reason="request")
    assert client.get("/portal").status_code == 302
    with client.session_transaction() as session:
        assert "portal" not in session
