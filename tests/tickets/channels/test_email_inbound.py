"""Inbound email end to end on SQLite: the HTTP pipe, threading, trust, loops, attachments."""
from __future__ import annotations

import base64
from email.message import EmailMessage
from email.utils import formatdate

import pytest
from sqlalchemy import func, select

from service.extensions import db
from service.notify.models import OutboundMail
from tickets.channels.email.mailboxes import create_mailbox
from tickets.channels.email.models import InboundEmail, InboundStatus
from tickets.models import Attachment, Message, Status, Ticket

_counter = iter(range(1, 10**6))


@pytest.fixture
def mailbox(app):
    box, secret = create_mailbox("Support", "help@loopdesk.local")
    db.session.commit()
    return box, secret


def mail(*, sender="alice@customer.test", subject="Printer jammed", body="It jams on page 2.",
         message_id=None, in_reply_to=None, references=None, headers=None) -> bytes:
    message = EmailMessage()
    message["From"] = f"Alice <{sender}>"
    message["To"] = "help@loopdesk.local"
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = message_id or f"<m{next(_counter)}@customer.test>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


def post(client, secret, raw, **headers):
    return client.post("/api/v1/inbound/email", data=raw,
                       headers={"Authorization": f"Bearer {secret}",
                                "Content-Type": "message/rfc822", **headers})


def only_ticket() -> Ticket:
    tickets = db.session.scalars(select(Ticket)).all()
    assert len(tickets) == 1
    return tickets[0]


def acks() -> list[OutboundMail]:
    return db.session.scalars(select(OutboundMail)
                              .where(OutboundMail.dedupe_key.like("ack:%"))).all()


def test_a_mail_opens_a_ticket_and_is_acknowledged_in_thread(client, mailbox):
    _, secret = mailbox
    response = post(client, secret, mail(message_id="<first@customer.test>"))
    assert response.status_code == 202, response.json
    assert response.json["message_id"] == "first@customer.test"
    ticket = only_ticket()
    assert response.json["ticket_number"] == ticket.number  # jobs ran inline
    assert ticket.channel.value == "email" and ticket.subject == "Printer jammed"
    assert ticket.contact.email == "alice@customer.test"
    [ack] = acks()
    assert ack.in_reply_to == "first@customer.test"
    assert ticket.number in ack.subject and "Printer jammed" not in ack.body_text
    assert ack.message_id.startswith(f"ld.{ticket.id}.c.")
    record = db.session.scalar(select(InboundEmail))
    assert record.status == InboundStatus.PROCESSED and record.ticket_id == ticket.id


def test_the_same_message_twice_makes_one_ticket(client, mailbox):
    _, secret = mailbox
    raw = mail(message_id="<dup@customer.test>")
    assert post(client, secret, raw).status_code == 202
    again = post(client, secret, raw)
    assert again.status_code == 200 and again.json["duplicate"] is True
    only_ticket()
    assert db.session.scalar(select(func.count()).select_from(InboundEmail)) == 1


def test_a_reply_to_our_acknowledgement_joins_the_ticket_and_resumes_the_clock(client,
                                                                               mailbox):
    _, secret = mailbox
    post(client, secret, mail())
    ticket = only_ticket()
    ticket.status = Status.OPEN
    db.session.commit()
    from tickets import lifecycle
    from service.db_types import utcnow

    lifecycle.change_status(ticket, Status.PENDING_CUSTOMER, actor=None, now=utcnow())
    db.session.commit()
    [ack] = acks()
    reply = mail(subject=f"Re: {ack.subject}", body="Here is the log.\n\n> old text\n",
                 in_reply_to=f"<{ack.message_id}>", references=f"<{ack.message_id}>")
    assert post(client, secret, reply).status_code == 202
    ticket = only_ticket()
    db.session.refresh(ticket)
    assert ticket.status == Status.OPEN and ticket.sla_paused_at is None
    last = db.session.scalars(select(Message).order_by(Message.id.desc())).first()
    assert last.body == "Here is the log." and "> old text" in last.original_body


def test_a_ticket_number_in_the_subject_threads_only_for_that_customer(client, mailbox):
    _, secret = mailbox
    post(client, secret, mail())
    ticket = only_ticket()
    post(client, secret, mail(subject=f"About [{ticket.number}]", body="More details."))
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    post(client, secret, mail(sender="mallory@evil.test", subject=f"Re: [{ticket.number}]",
                              body="Inject"))
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 2


def test_a_reply_to_a_resolved_ticket_reopens_only_when_it_says_so(client, mailbox):
    _, secret = mailbox
    post(client, secret, mail())
    ticket = only_ticket()
    ticket.status = Status.RESOLVED
    db.session.commit()
    post(client, secret, mail(subject=f"Re: [{ticket.number}] Printer jammed",
                              body="Thanks a lot!"))
    db.session.refresh(ticket)
    assert ticket.status == Status.RESOLVED
    post(client, secret, mail(subject=f"Re: [{ticket.number}] Printer jammed",
                              body="Sorry, it is still not working.\n\n> Thanks a lot!"))
    db.session.refresh(ticket)
    assert ticket.status == Status.REOPENED and ticket.reopen_count == 1


def test_quoted_still_a_problem_does_not_reopen(client, mailbox):
    _, secret = mailbox
    post(client, secret, mail())
    ticket = only_ticket()
    ticket.status = Status.RESOLVED
    db.session.commit()
    post(client, secret, mail(subject=f"Re: [{ticket.number}]",
                              body="All good now, thanks.\n\n> is it still not working?"))
    db.session.refresh(ticket)
    assert ticket.status == Status.RESOLVED


def test_auto_replies_open_no_acknowledgement_and_do_not_answer(client, mailbox):
    _, secret = mailbox
    for headers in ({"Auto-Submitted": "auto-replied"}, {"Precedence": "bulk"},
                    {"X-Autoreply": "yes"}):
        post(client, secret, mail(sender=f"bot{next(_counter)}@customer.test",
                                  headers=headers))
    assert acks() == []


def test_mail_from_our_own_address_is_ignored(client, mailbox):
    _, secret = mailbox
    post(client, secret, mail(sender="help@loopdesk.local"))
    post(client, secret, mail(sender="support@loopdesk.local"))
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    records = db.session.scalars(select(InboundEmail)).all()
    assert {record.status for record in records} == {InboundStatus.IGNORED}


def test_acknowledgements_are_rate_limited_per_sender(client, mailbox, app):
    _, secret = mailbox
    app.config["ACK_RATE_LIMIT_PER_HOUR"] = 2
    for number in range(4):
        post(client, secret, mail(subject=f"Request {number}"))
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 4
    assert len(acks()) == 2


def test_an_agent_reply_by_mail_counts_only_with_a_valid_signature(client, mailbox, make_user,
                                                                   auth):
    _, secret = mailbox
    agent = make_user("agent", email="agent@staff.test")
    post(client, secret, mail())
    ticket = only_ticket()
    ticket.assignee_id = agent.id
    db.session.commit()
    post(client, secret, mail(subject=f"Re: [{ticket.number}]", body="One more thing."))
    notice = db.session.scalar(select(OutboundMail)
                               .where(OutboundMail.to_address == "agent@staff.test"))
    assert notice is not None and notice.message_id.startswith(f"ld.{ticket.id}.u{agent.id}.")
    # A forged reference (wrong signature) from the agent's address is not the agent's.
    forged = notice.message_id.rsplit(".", 1)[0][:-20] + "0" * 20 + "@" + \
        notice.message_id.rpartition("@")[2]
    post(client, secret, mail(sender="agent@staff.test", subject="Re: x", body="Forged",
                              in_reply_to=f"<{forged}>"))
    post(client, secret, mail(sender="agent@staff.test", subject="Re: x",
                              body="We shipped a fix.", in_reply_to=f"<{notice.message_id}>"))
    messages = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id)
                                  .order_by(Message.id)).all()
    staff = [m for m in messages if m.author_kind.value == "staff"]
    assert [m.body for m in staff] == ["We shipped a fix."]
    db.session.refresh(ticket)
    assert ticket.first_responded_at is not None
    reply = db.session.scalar(select(OutboundMail).where(
        OutboundMail.dedupe_key == f"reply:message:{staff[0].id}"))
    assert reply.to_address == "alice@customer.test" and ticket.number in reply.subject


def test_bad_requests_are_clear_problems(client, mailbox):
    _, secret = mailbox
    raw = mail()
    assert post(client, "mbx_wrong", raw).status_code == 401
    assert client.post("/api/v1/inbound/email", data=raw,
                       headers={"Content-Type": "message/rfc822"}).status_code == 401
    wrong_type = post(client, secret, raw, **{"Content-Type": "text/plain"})
    assert wrong_type.status_code == 400
    assert wrong_type.headers["Content-Type"] == "application/problem+json"
    assert post(client, secret, b"   ").status_code == 400
    basic = base64.b64encode(f"help:{secret}".encode()).decode()
    ok = client.post("/api/v1/inbound/email", data=raw,
                     headers={"Authorization": f"Basic {basic}",
                              "Content-Type": "message/rfc822"})
    assert ok.status_code == 202
    assert db.session.scalar(select(func.count()).select_from(InboundEmail)) == 1


def test_junk_is_kept_with_a_reason_and_shown_to_admins(client, mailbox, make_user, auth):
    _, secret = mailbox
    response = post(client, secret, b"\x00\x01 this is not an email \xff" * 3)
    assert response.status_code == 202
    record = db.session.get(InboundEmail, response.json["id"])
    assert record.status in (InboundStatus.FAILED, InboundStatus.PROCESSED)
    admin = make_user("admin")
    listed = client.get("/api/v1/admin/inbound-emails", headers=auth(admin))
    assert listed.status_code == 200 and listed.json["items"][0]["id"] == record.id
    raw = client.get(f"/api/v1/admin/inbound-emails/{record.id}/raw", headers=auth(admin))
    assert raw.data.startswith(b"\x00\x01") and "attachment" in raw.headers["Content-Disposition"]
    agent = make_user("agent")
    assert client.get("/api/v1/admin/inbound-emails", headers=auth(agent)).status_code == 403


def test_an_oversize_attachment_is_refused_but_the_message_kept(client, mailbox, app):
    _, secret = mailbox
    message = EmailMessage()
    message["From"] = "alice@customer.test"
    message["To"] = "help@loopdesk.local"
    message["Subject"] = "Logs attached"
    message["Message-ID"] = "<big@customer.test>"
    message.set_content("See the two files.")
    message.add_attachment(b"small log", maintype="text", subtype="plain",
                           filename="../../etc/passwd")
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + b"0" * (10 * 1024 * 1024),
                           maintype="application", subtype="octet-stream",
                           filename="screen.png")
    assert post(client, secret, message.as_bytes()).status_code == 202
    ticket = only_ticket()
    stored = db.session.scalars(select(Attachment)).all()
    assert [(a.filename, a.content_type) for a in stored] == [("passwd", "text/plain")]
    from tickets.models import TicketEvent

    refused = db.session.scalar(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "attachment_refused"))
    assert refused.data["filename"] == "screen.png"


def test_the_acknowledgement_speaks_the_customers_language_with_the_reply_marker(client,
                                                                                mailbox):
    _, secret = mailbox
    post(client, secret, mail(subject="打印机坏了", body="打印机无法开机，请尽快处理。"))
    [ack] = acks()
    assert ack.body_text.lstrip().startswith("##- 请在此行之上回复 -##")
    assert "工单" in ack.body_html and 'lang="zh-CN"' in ack.body_html
    from tickets.channels.email.quotes import strip_reply

    reply = "已经好了，谢谢。\n\n" + ack.body_text
    assert strip_reply(reply).text == "已经好了，谢谢。"


# ---- the parser's real-world fixtures through the whole pipe ----

from tests.fixtures.mail import big_attachment_message, fixture, fixture_names  # noqa: E402


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_is_filed_or_kept_with_a_reason_never_lost(client, mailbox, name):
    _, secret = mailbox
    response = post(client, secret, fixture(name))
    assert response.status_code == 202, response.json
    record = db.session.get(InboundEmail, response.json["id"])
    assert record.status != InboundStatus.RECEIVED  # processed, ignored or failed: decided
    if record.status == InboundStatus.PROCESSED:
        assert record.ticket_id is not None and record.ticket_message_id is not None
    else:
        assert record.reason
    assert post(client, secret, fixture(name)).json["duplicate"] is True


def test_a_bounce_marks_the_address_and_opens_no_ticket(client, mailbox, make_ticket):
    from service.directory.models import Contact

    _, secret = mailbox
    ticket = make_ticket(customer_email="nobody@customer.example")
    post(client, secret, fixture("bounce_dsn"))
    db.session.expire_all()  # the job wrote in its own session
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    contact = db.session.scalar(select(Contact)
                                .where(Contact.email == "nobody@customer.example"))
    assert contact.email_bouncing is True
    record = db.session.scalar(select(InboundEmail))
    assert record.status == InboundStatus.IGNORED and "nobody@customer.example" in record.reason
    assert ticket.contact_id == contact.id


def test_a_gbk_mail_becomes_a_chinese_ticket(client, mailbox):
    _, secret = mailbox
    post(client, secret, fixture("gbk"))
    ticket = only_ticket()
    assert ticket.contact.name == "张伟" and ticket.language == "zh"
    first = db.session.scalar(select(Message).where(Message.ticket_id == ticket.id))
    assert any("\u4e00" <= char <= "\u9fff" for char in first.body)


def test_an_injected_subject_never_reaches_a_header(client, mailbox):
    _, secret = mailbox
    post(client, secret, fixture("header_injection"))
    ticket = only_ticket()
    assert "\r" not in ticket.subject and "\n" not in ticket.subject
    [ack] = acks()
    from service.notify.mail import build_message

    headers = build_message(ack).as_string().split("\n\n", 1)[0]
    assert "\nBcc:" not in headers and "evil@attacker.example" not in headers


def test_a_ten_megabyte_attachment_is_refused_the_message_kept(client, mailbox):
    _, secret = mailbox
    response = post(client, secret, big_attachment_message())
    assert response.status_code == 202
    ticket = only_ticket()
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    record = db.session.get(InboundEmail, response.json["id"])
    assert record.status == InboundStatus.PROCESSED and record.size > 10 * 1024 * 1024
    from tickets.models import TicketEvent

    assert db.session.scalar(select(TicketEvent.kind).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "attachment_refused"))


def test_the_api_shows_the_stripped_reply_its_original_and_its_files(client, mailbox,
                                                                     make_user, auth):
    _, secret = mailbox
    post(client, secret, fixture("inline_image_pdf"))
    ticket = only_ticket()
    agent = make_user("admin")
    page = client.get(f"/api/v1/tickets/{ticket.id}/messages", headers=auth(agent)).json
    [first] = page["items"]
    assert {file["content_type"] for file in first["attachments"]} >= {"application/pdf"}
    pdf = next(file for file in first["attachments"] if file["content_type"] == "application/pdf")
    download = client.get(f"/api/v1/attachments/{pdf['id']}", headers=auth(agent))
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    [ack] = acks()
    reply = mail(subject=f"Re: {ack.subject}", body="Fixed now.\n\nOn Mon wrote:\n> old",
                 in_reply_to=f"<{ack.message_id}>")
    post(client, secret, reply)
    page = client.get(f"/api/v1/tickets/{ticket.id}/messages", headers=auth(agent)).json
    last = page["items"][-1]
    assert last["body"] == "Fixed now." and "> old" in last["original_body"]
    other = make_user("department")
    assert client.get(f"/api/v1/attachments/{pdf['id']}", headers=auth(other)).status_code == 404


def test_an_agents_mail_reply_to_a_closed_ticket_is_kept_not_sent(client, mailbox, make_user):
    _, secret = mailbox
    agent = make_user("agent", email="closer@staff.test")
    post(client, secret, mail())
    ticket = only_ticket()
    ticket.assignee_id = agent.id
    db.session.commit()
    post(client, secret, mail(subject=f"Re: [{ticket.number}]", body="More."))
    notice = db.session.scalar(select(OutboundMail)
                               .where(OutboundMail.to_address == "closer@staff.test"))
    ticket.status = Status.CLOSED
    db.session.commit()
    response = post(client, secret, mail(sender="closer@staff.test", subject="Re: x",
                                         body="Late answer", in_reply_to=f"<{notice.message_id}>"))
    record = db.session.get(InboundEmail, response.json["id"])
    assert record.status == InboundStatus.IGNORED and "closed" in record.reason
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_a_message_over_the_size_limit_is_kept_unparsed_named_by_its_headers(client, mailbox,
                                                                            app):
    from tickets.channels.email.inbound import receive

    box, secret = mailbox
    app.config["INBOUND_EMAIL_MAX_BYTES"] = 2000
    raw = mail(message_id="<huge@customer.test>", body="x" * 5000)
    refused = post(client, secret, raw)  # the HTTP pipe tells the sender at once
    assert refused.status_code == 413
    assert refused.headers["Content-Type"] == "application/problem+json"
    result = receive(box.id, raw, "imap")  # a poller has it already: kept, not parsed
    record = result.record
    assert record.status == InboundStatus.FAILED and "limit" in record.reason
    assert record.message_id == "huge@customer.test" and record.subject == "Printer jammed"
    assert receive(box.id, raw, "imap").duplicate is True
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_admins_reprocess_failed_messages_but_not_filed_ones(client, mailbox, make_user, auth):
    _, secret = mailbox
    no_sender = b"To: help@loopdesk.local\r\nSubject: who am I\r\nMessage-ID: <anon@x>\r\n\r\nhi"
    failed = post(client, secret, no_sender).json["id"]
    filed = post(client, secret, mail()).json["id"]
    record = db.session.get(InboundEmail, failed)
    assert record.status == InboundStatus.FAILED and "From" in record.reason
    admin, agent = make_user("admin"), make_user("agent")
    url = "/api/v1/admin/inbound-emails/{}/reprocess"
    assert client.post(url.format(failed), headers=auth(agent)).status_code == 403
    again = client.post(url.format(failed), headers=auth(admin))
    assert again.status_code == 202
    db.session.expire_all()
    record = db.session.get(InboundEmail, failed)
    assert record.status == InboundStatus.FAILED and record.attempts == 2
    conflict = client.post(url.format(filed), headers=auth(admin))
    assert conflict.status_code == 409
    assert client.post(url.format(999999), headers=auth(admin)).status_code == 404


def test_user_text_is_escaped_in_html_mail(client, mailbox, make_user, auth):
    _, secret = mailbox
    post(client, secret, mail(sender="x@customer.test", subject="<img src=x onerror=alert(1)>"))
    ticket = only_ticket()
    agent = make_user("admin")
    reply = client.post(f"/api/v1/tickets/{ticket.id}/messages", headers=auth(agent),
                        json={"body": "<script>alert(1)</script> fixed"})
    assert reply.status_code == 201
    sent = db.session.scalar(select(OutboundMail).where(
        OutboundMail.dedupe_key == f"reply:message:{reply.json['id']}"))
    assert "<script>" not in sent.body_html and "&lt;script&gt;" in sent.body_html
    assert "<img" not in sent.body_html
    assert "<script>alert(1)</script> fixed" in sent.body_text  # plain text stays as written


def test_the_same_bytes_are_stored_once_and_names_made_safe(app, make_ticket):
    from tickets import attachments
    from tickets.models import AttachmentBlob

    first, second = make_ticket(), make_ticket()
    a = attachments.store(first.id, None, "<script>.html", b"same bytes", "text/html")
    b = attachments.store(second.id, None, "..\\..\\report.pdf.exe", b"same bytes", None)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AttachmentBlob)) == 1
    assert (a.filename, a.content_type) == ("script_.html", "text/plain")
    assert (b.filename, b.content_type) == ("report.pdf.exe", "application/octet-stream")
