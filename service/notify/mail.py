"""Outbound mail: recorded once per dedupe key, then sent over SMTP (or logged)."""
from __future__ import annotations

import logging
import re
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from service.db_types import utcnow
from service.extensions import db
from service.notify.models import OutboundMail

log = logging.getLogger(__name__)
CLAIM_TIMEOUT = timedelta(minutes=10)


def _header_safe(value: str) -> str:
    # CR/LF in a header would let user text inject headers or a second message.
    return re.sub(r"[\r\n\x00-\x1f\x7f]+", " ", value).strip()


def send_mail(dedupe_key: str, to_address: str, subject: str, body: str) -> OutboundMail:
    """Send a mail at most once per `dedupe_key`; a retried job re-sends only if unsent."""
    mail = db.session.scalar(select(OutboundMail).where(OutboundMail.dedupe_key == dedupe_key))
    if mail is None:
        domain = current_app.config["MAIL_FROM"].rpartition("@")[2].rstrip(">") or "loopdesk"
        mail = OutboundMail(dedupe_key=dedupe_key, to_address=_header_safe(to_address),
                            subject=_header_safe(subject)[:300], body_text=body,
                            message_id=make_msgid(domain=domain), status="queued")
        try:
            with db.session.begin_nested():
                db.session.add(mail)
        except IntegrityError:  # another worker recorded it first
            mail = db.session.scalar(select(OutboundMail)
                                     .where(OutboundMail.dedupe_key == dedupe_key))
            return mail
        db.session.commit()
    if mail.status in ("sent", "logged") or not _claim(mail):
        return mail
    _deliver(mail)
    db.session.commit()
    return mail


def _claim(mail: OutboundMail) -> bool:
    """Take the mail for delivery unless another live job holds it (an atomic update)."""
    now = utcnow()
    claimed = db.session.execute(
        update(OutboundMail)
        .where(OutboundMail.id == mail.id, OutboundMail.status.in_(("queued", "sending")),
               (OutboundMail.claimed_at.is_(None))
               | (OutboundMail.claimed_at < now - CLAIM_TIMEOUT))
        .values(status="sending", claimed_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if claimed != 1:
        return False
    db.session.refresh(mail)
    return True


def _deliver(mail: OutboundMail) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        mail.status = "logged"
        mail.sent_at = utcnow()
        log.info("mail %s not sent: MAIL_SERVER is not configured (kept in outbound_mail)",
                 mail.dedupe_key)
        return
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body_text)
    # Raises on failure so the job is retried; the claim is released for the retry.
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=15) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        mail.status, mail.claimed_at = "queued", None
        db.session.commit()
        raise
    mail.status = "sent"
    mail.sent_at = utcnow()


def recent_mail_count(to_address: str, key_prefix: str, since) -> int:
    """How many mails with this key prefix went to an address since a moment."""
    return db.session.scalar(
        select(func.count()).select_from(OutboundMail).where(
            OutboundMail.to_address == to_address,
            OutboundMail.dedupe_key.like(f"{key_prefix}%"),
            OutboundMail.created_at >= since)) or 0
