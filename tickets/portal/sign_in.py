"""Magic-link sign-in to the customer portal: request, mail, check, consume.

A link carries a random token; only its SHA-256 is stored. It works once, within
PORTAL_SIGN_IN_MINUTES. Asking for a link never says whether the address is known.
"""
from __future__ import annotations

import enum
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from limits import parse_many
from sqlalchemy import select, update

from service import jobs
from service.db_types import utcnow
from service.directory.models import Contact
from service.extensions import db, limiter
from service.i18n import locale_for
from service.validation import is_email
from tickets.portal.models import PortalSignInLink

log = logging.getLogger(__name__)
_MAX_TOKEN_LENGTH = 100  # ours are 43 characters; anything longer is not ours


class LinkProblem(enum.StrEnum):
    """Why a sign-in link cannot be used (each has its own page and status)."""

    INVALID = "invalid"  # 404: not a link we made
    EXPIRED = "expired"  # 410
    USED = "used"  # 409


@dataclass(frozen=True)
class LinkCheck:
    """The contact a sign-in link is good for, or why it is not good."""

    contact_id: int | None
    problem: LinkProblem | None


def token_hash(token: str) -> str:
    """The stored form of a sign-in token."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def request_link(email: str, *, now: datetime | None = None) -> bool:
    """Make and mail a sign-in link if a mailable contact has this address.

    Returns whether a mail was queued; callers must not tell the visitor (the answer is
    the same for every address). Over the per-address limit nothing is sent.
    """
    address = (email or "").strip().lower()
    if not is_email(address) or not address_allowed(address):
        return False
    contact = db.session.scalar(select(Contact).where(Contact.email == address))
    if contact is None or contact.email_bouncing:
        return False
    now = now or utcnow()
    raw = secrets.token_urlsafe(32)
    minutes = current_app.config["PORTAL_SIGN_IN_MINUTES"]
    link = PortalSignInLink(token_hash=token_hash(raw), contact_id=contact.id, created_at=now,
                            expires_at=now + timedelta(minutes=minutes))
    db.session.add(link)
    db.session.flush()
    # The raw token travels only to the mail job (and in the mail itself); it is never stored
    # on the link row.
    jobs.enqueue(send_sign_in_mail, link.id, raw)
    return True


def address_allowed(address: str) -> bool:
    """Count one link request for the address; False once RATELIMIT_PORTAL_LINK_ADDRESS is hit.

    Counted in the app's limiter storage (Redis in production), keyed on a hash of the
    lower-cased address so the store holds no addresses.
    """
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    key = hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()
    try:
        strategy = limiter.limiter
        limits = parse_many(current_app.config["RATELIMIT_PORTAL_LINK_ADDRESS"])
        if not all(strategy.test(item, "portal-link-address", key) for item in limits):
            return False
        for item in limits:
            strategy.hit(item, "portal-link-address", key)
    except Exception:  # the limiter's store is down: the per-client limit still applies
        log.warning("portal link rate limit unavailable", exc_info=True)
    return True


def check_link(token: str, *, now: datetime | None = None) -> LinkCheck:
    """Whether a sign-in token can still be used (reading only: a GET never consumes it)."""
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
        return LinkCheck(None, LinkProblem.INVALID)
    link = db.session.scalar(select(PortalSignInLink)
                             .where(PortalSignInLink.token_hash == token_hash(token)))
    return _judge(link, now or utcnow())


def _judge(link: PortalSignInLink | None, now: datetime) -> LinkCheck:
    if link is None:
        return LinkCheck(None, LinkProblem.INVALID)
    if link.used_at is not None:
        return LinkCheck(None, LinkProblem.USED)
    if link.expires_at <= now:
        return LinkCheck(None, LinkProblem.EXPIRED)
    return LinkCheck(link.contact_id, None)


def consume_link(token: str, *, now: datetime | None = None) -> LinkCheck:
    """Use a sign-in link once: an atomic UPDATE … WHERE used_at IS NULL decides the race."""
    now = now or utcnow()
    check = check_link(token, now=now)
    if check.problem is not None:
        return check
    used = db.session.execute(
        update(PortalSignInLink)
        .where(PortalSignInLink.token_hash == token_hash(token),
               PortalSignInLink.used_at.is_(None), PortalSignInLink.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if used != 1:  # another request used it between our read and our write
        return LinkCheck(None, LinkProblem.USED)
    return check


def sign_in_url(token: str) -> str:
    """The absolute sign-in link for the mail (built from the URL map: works in a job)."""
    path = current_app.url_map.bind("").build("portal.sign_in_link", {"token": token})
    return current_app.config["BASE_URL"] + path


@jobs.job(queue="mail")
def send_sign_in_mail(link_id: int, token: str) -> None:
    """Mail a sign-in link to its contact, in their language."""
    from service.notify import mail

    link = db.session.get(PortalSignInLink, link_id)
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return  # used or expired before the mail went out: nothing useful to send
    contact = db.session.get(Contact, link.contact_id)
    if contact is None or not contact.email or contact.email_bouncing:
        return
    locale = locale_for(contact.language)
    context = {"contact": contact, "link": sign_in_url(token),
               "minutes": current_app.config["PORTAL_SIGN_IN_MINUTES"],
               "html_lang": "zh-CN" if locale == "zh_CN" else "en"}
    with force_locale(locale):
        subject = render_template("tickets/mail/portal_sign_in_subject.txt", **context).strip()
        body = render_template("tickets/mail/portal_sign_in.txt", **context)
        html = render_template("tickets/mail/portal_sign_in.html", **context)
    mail.send_mail(f"portal-sign-in:{link.id}", contact.email, subject, body, html=html)
