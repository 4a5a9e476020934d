"""Outbound mail over a real SMTP server (aiosmtpd): once per key, no header injection."""
from __future__ import annotations

import socket

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from service.extensions import db
from service.notify import mail
from service.notify.models import OutboundMail


class Collector:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(app):
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield collector
    controller.stop()


def test_mail_is_sent_once_per_key(smtp):
    first = mail.send_mail("test:1", "a@example.com", "Hello", "Body text")
    again = mail.send_mail("test:1", "a@example.com", "Hello", "Body text")
    assert first.id == again.id and first.status == "sent"
    assert len(smtp.envelopes) == 1
    assert smtp.envelopes[0].rcpt_tos == ["a@example.com"]
    content = smtp.envelopes[0].content.decode()
    assert "Auto-Submitted: auto-generated" in content
    assert f"Message-ID: <{first.message_id}>" in content


def test_crlf_never_reaches_a_header(smtp):
    sent = mail.send_mail("test:2", "b@example.com",
                          "Hi\r\nBcc: victim@example.com\r\n\r\nspam", "Body")
    content = smtp.envelopes[0].content.decode()
    assert "\nBcc:" not in content
    assert smtp.envelopes[0].rcpt_tos == ["b@example.com"]
    assert "\r" not in sent.subject and "\n" not in sent.subject


def test_smtp_down_raises_so_the_job_retries(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    with pytest.raises(OSError):
        mail.send_mail("test:3", "c@example.com", "Hello", "Body")
    row = db.session.scalar(select(OutboundMail).where(OutboundMail.dedupe_key == "test:3"))
    assert row.status == "queued"  # sent by the retry, not lost and not duplicated


def test_without_smtp_mail_is_recorded(app):
    row = mail.send_mail("test:4", "d@example.com", "Hello", "Body")
    assert row.status == "logged"


def test_a_mail_claimed_by_another_job_is_not_sent_twice(smtp):
    from datetime import timedelta

    from service.db_types import utcnow

    db.session.add(OutboundMail(dedupe_key="test:5", to_address="e@example.com", subject="S",
                                body_text="B", message_id="<x@y>", status="sending",
                                claimed_at=utcnow()))
    db.session.commit()
    assert mail.send_mail("test:5", "e@example.com", "S", "B").status == "sending"
    assert smtp.envelopes == []
    # The claimant died long ago: a retry takes the mail over and sends it.
    row = db.session.scalar(select(OutboundMail).where(OutboundMail.dedupe_key == "test:5"))
    row.claimed_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert mail.send_mail("test:5", "e@example.com", "S", "B").status == "sent"
    assert len(smtp.envelopes) == 1


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_mail_goes_over_starttls_or_tls_with_a_checked_certificate(app, tmp_path, monkeypatch,
                                                                   mode):
    from tests.tls import self_signed_server_context

    collector = Collector()
    context = self_signed_server_context(tmp_path, "localhost")
    options = ({"tls_context": context, "require_starttls": True} if mode == "starttls"
               else {"ssl_context": context})
    controller = Controller(collector, hostname="localhost", port=free_port(), **options)
    controller.start()
    try:
        app.config.update(MAIL_SERVER="localhost", MAIL_PORT=controller.port,
                          MAIL_USE_TLS=mode == "starttls", MAIL_USE_SSL=mode == "tls")
        with pytest.raises(OSError):  # an untrusted certificate is never accepted
            mail.send_mail(f"tls:{mode}:1", "c@example.com", "Hello", "Body")
        assert collector.envelopes == []
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        sent = mail.send_mail(f"tls:{mode}:1", "c@example.com", "Hello", "Body")
        assert sent.status == "sent" and len(collector.envelopes) == 1
    finally:
        controller.stop()


def test_secret_links_leave_the_mail_log_once_delivered(smtp):
    token = "Ab3" * 14 + "x"  # the shape of a survey token (43 URL-safe characters)
    link = f"http://support.test/s/{token}?score=5"
    sent = mail.send_mail("test:secret", "c@example.com", "How did we do?",
                          f"One click: {link}", html=f'<a href="{link}">5</a>')
    assert token in smtp.envelopes[0].content.decode()  # the customer gets the link
    db.session.expire_all()
    stored = db.session.get(OutboundMail, sent.id)
    assert stored.status == "sent"
    assert token not in stored.body_text and token not in stored.body_html
    assert "/s/…" in stored.body_text


def test_undelivered_mail_keeps_its_body(app):
    token = "Ab3" * 14 + "x"
    kept = mail.send_mail("test:kept", "d@example.com", "Survey", f"/s/{token}")
    assert kept.status == "logged" and token in kept.body_text  # no SMTP: the dev mailbox
