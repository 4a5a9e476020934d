"""Outbound mail: recorded once per dedupe key, then sent over SMTP (or kept for admins)."""
from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from service.db_types import utcnow
from service.extensions import db
from service.notify.models import OutboundMail
from service.notify import redaction

log = logging.getLogger(__name__)
CLAIM_TIMEOUT = timedelta(minutes=10)
_MESSAGE_ID = re.compile(r"^[!-;=?-~]{1,245}@[!-;=?-~]{1,245}$")  # printable, no <>, no space


def _header_safe(value: str) -> str:
    # CR/LF in a header would let user text inject headers or a second message.
    return re.sub(r"[\r\n\x00-\x1f\x7f]+", " ", value).strip()


def _clean_id(value: str | None) -> str | None:
    """A Message-ID without brackets, or None unless it is a well-formed one."""
    if not value:
        return None
    value = value.strip().strip("<>")
    return value if _MESSAGE_ID.match(value) and len(value) <= 250 else None


@dataclass(frozen=True)
class Threading:
    """How a mail joins a conversation in the recipient's mail client."""
    message_id: str | None = None  # ours to choose (e.g. signed); generated when None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_to: str | None = None


def send_mail(dedupe_key: str, to_address: str, subject: str, body: str, *,
              html: str | None = None, threading: Threading = Threading()) -> OutboundMail:
    """Send a mail at most once per `dedupe_key`; a retried job re-sends only if unsent."""
    mail = db.session.scalar(select(OutboundMail).where(OutboundMail.dedupe_key == dedupe_key))
    if mail is None:
        references = [ref for ref in (_clean_id(r) for r in threading.references) if ref]
        mail = OutboundMail(dedupe_key=dedupe_key, to_address=_header_safe(to_address),
                            subject=_header_safe(subject)[:300], body_text=body,
                            body_html=html,
                            message_id=_clean_id(threading.message_id) or _new_id(),
                            in_reply_to=_clean_id(threading.in_reply_to),
                            references=" ".join(references) or None,
                            reply_to=_header_safe(threading.reply_to or "") or None,
                            status="queued")
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


def sender_address() -> str:
    """The bare address we send from (MAIL_FROM without its display name), lower-cased."""
    return parseaddr(current_app.config["MAIL_FROM"])[1].lower()


def sender_domain() -> str:
    """The domain of our sender address, which our Message-IDs use too."""
    return sender_address().rpartition("@")[2] or "loopdesk.local"


def _new_id() -> str:
    return make_msgid(domain=sender_domain()).strip("<>")


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


def build_message(mail: OutboundMail) -> EmailMessage:
    """The RFC 5322 message for a recorded mail: text (and HTML) parts, threading headers."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = formatdate(mail.created_at.timestamp() if mail.created_at else None)
    message["Message-ID"] = f"<{mail.message_id.strip('<>')}>"
    if mail.in_reply_to:
        message["In-Reply-To"] = f"<{mail.in_reply_to}>"
    if mail.references:
        message["References"] = " ".join(f"<{ref}>" for ref in mail.references.split())
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    # RFC 3834: we are a machine; well-behaved auto-responders will not answer us.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body_text)
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html")
    return message


def _deliver(mail: OutboundMail) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        mail.status = "logged"
        mail.sent_at = utcnow()
        log.info("mail %s kept for admins: MAIL_SERVER is not configured", mail.id)
        return
    message = build_message(mail)
    # Raises on failure so the job is retried; the claim is released for the retry.
    try:
        with _connect(config) as smtp:
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        mail.status, mail.claimed_at = "queued", None
        db.session.commit()
        raise
    mail.status = "sent"
    mail.sent_at = utcnow()
    # Delivered, so never sent again: the customer's secret links (survey tokens, sign-in
    # and confirmation links) need not outlive the delivery in our mail log.
    mail.body_text = redaction.redact_links(mail.body_text) or ""
    mail.body_html = redaction.redact_links(mail.body_html)


def _connect(config) -> smtplib.SMTP:
    host, port = config["MAIL_SERVER"], config["MAIL_PORT"]
    if config.get("MAIL_USE_SSL"):
        return smtplib.SMTP_SSL(host, port, timeout=15, context=ssl.create_default_context())
    smtp = smtplib.SMTP(host, port, timeout=15)
    if config.get("MAIL_USE_TLS"):
        smtp.starttls(context=ssl.create_default_context())
    return smtp


def recent_mail_count(to_address: str, key_prefix: str, since) -> int:
    """How many mails with this key prefix went to an address since a moment."""
    return db.session.scalar(
        select(func.count()).select_from(OutboundMail).where(
            OutboundMail.to_address == to_address,
            OutboundMail.dedupe_key.like(f"{key_prefix}%"),
            OutboundMail.created_at >= since)) or 0
