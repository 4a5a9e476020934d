"""The email channel's "done when", over real parts: PostgreSQL, Redis, `rq worker`, SMTP.

A mail posted to the inbound endpoint opens a ticket; the acknowledgement reaches the SMTP
server; the customer's reply to it lands on the same ticket; the agent's answer threads
in the customer's mail client (In-Reply-To/References) and carries the ticket number.
"""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

import pytest
from sqlalchemy import func, select

from service.extensions import db
from tickets.channels.email.mailboxes import create_mailbox
from tickets.channels.email.models import InboundEmail, InboundStatus
from tickets.models import Message, Ticket

pytestmark = pytest.mark.integration


def _customer_mail(subject: str, body: str, message_id: str, in_reply_to: str | None = None,
                   references: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "王小明 <xiaoming@customer.test>"
    message["To"] = "help@support.test"
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = references or in_reply_to
    message.set_content(body, charset="gb18030")
    return message.as_bytes()


def test_mail_in_ack_out_reply_in_agent_answer_threads(rq_stack, make_user, support_team,
                                                       auth):
    client = rq_stack.app.test_client()
    agent = make_user("agent", team=support_team, email="agent@staff.test")
    mailbox, secret = create_mailbox("Help", "help@support.test")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "message/rfc822"}

    first = _customer_mail("打印机卡纸", "第二页总是卡纸，请帮忙。", "<c1@customer.test>")
    response = client.post("/api/v1/inbound/email", data=first, headers=headers)
    assert response.status_code == 202, response.json
    duplicate = client.post("/api/v1/inbound/email", data=first, headers=headers)
    assert duplicate.status_code == 200 and duplicate.json["duplicate"] is True
    rq_stack.run_burst_worker()

    ticket = db.session.scalar(select(Ticket))
    assert ticket.channel.value == "email" and ticket.subject == "打印机卡纸"
    assert ticket.language == "zh"
    [ack] = rq_stack.smtp.to("xiaoming@customer.test")
    assert ticket.number in ack.subject
    assert ack.message["In-Reply-To"] == "<c1@customer.test>"
    assert ack.message["Auto-Submitted"] == "auto-generated"
    ack_text = ack.message.get_body(("plain",)).get_content()
    assert "第二页总是卡纸" not in ack_text  # the customer's text is never echoed

    # The customer answers the acknowledgement from their mail client.
    reply = _customer_mail(f"回复：{ack.subject}", "日志在这里。\n\n> 旧的内容",
                           "<c2@customer.test>", in_reply_to=ack.message["Message-ID"])
    assert client.post("/api/v1/inbound/email", data=reply, headers=headers).status_code == 202
    rq_stack.run_burst_worker()
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    bodies = db.session.scalars(select(Message.body).where(Message.ticket_id == ticket.id)
                                .order_by(Message.id)).all()
    assert bodies == ["第二页总是卡纸，请帮忙。", "日志在这里。"]

    # The agent answers in the API; the mail threads under the customer's last message.
    answer = client.post(f"/api/v1/tickets/{ticket.id}/messages",
                         json={"body": "已经为您安排更换搓纸轮。"}, headers=auth(agent))
    assert answer.status_code == 201
    rq_stack.run_burst_worker()
    mails = rq_stack.smtp.to("xiaoming@customer.test")
    assert len(mails) == 2
    agent_mail = mails[1].message
    assert agent_mail["In-Reply-To"] == "<c2@customer.test>"
    references = agent_mail["References"].split()
    assert "<c1@customer.test>" in references and "<c2@customer.test>" in references
    assert ack.message["Message-ID"] in references
    assert ticket.number in agent_mail["Subject"]
    text = agent_mail.get_body(("plain",)).get_content()
    assert "已经为您安排更换搓纸轮。" in text and text.lstrip().startswith("##-")
    assert agent_mail.get_body(("html",)) is not None
    records = db.session.scalars(select(InboundEmail.status)).all()
    assert records == [InboundStatus.PROCESSED, InboundStatus.PROCESSED]
