"""Tickets staff open for a customer who called or came to the counter.

The customer is a known contact, else found or created by email, else by phone number (a
caller may have no email: that contact gets no acknowledgement mail). Everything else is
the one intake every channel goes through, with the staff member as the creator.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from flask_babel import lazy_gettext as _l

from service.auth.models import User
from service.auth.permissions import Permission, can, require
from service.directory.models import Contact, normalize_phone
from service.directory.services import find_or_create_contact_by_phone
from service.errors import Forbidden, InvalidInput
from service.extensions import db
from service.validation import is_email, is_id, strip_controls
from tickets import intake
from tickets.models import Channel, Priority

CHANNELS = (Channel.PHONE, Channel.WALK_IN)
LANGUAGES = ("en", "zh")
_PHONE = re.compile(r"^[0-9+()\-. ]{3,40}$")


@dataclass(frozen=True)
class OnBehalfRequest:
    """What the staff member wrote down; strings as typed, checked by open_ticket."""
    channel: str
    subject: str
    description: str
    contact_id: int | None = None
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    company: str | None = None
    urgency: str | None = None
    priority: str | None = None
    category: str | None = None
    product: str | None = None
    language: str | None = None
    acknowledge: bool = True
    submission_id: str | None = None


def open_ticket(staff: User, request: OnBehalfRequest) -> intake.IntakeResult:
    """Open (or, for a resent form, find again) the ticket; InvalidInput lists every problem.

    The same submission id with the same fields returns the first ticket, so a double
    click or a resent form makes one ticket.
    """
    require(staff, Permission.TICKET_CREATE)
    if request.priority and not can(staff, Permission.TICKET_SET_PRIORITY):
        raise Forbidden(_l("Your role may not set the priority; say how urgent it is "
                           "instead."))
    errors: dict[str, list] = {}
    channel = _choice(Channel, request.channel, CHANNELS, "channel", errors,
                      _l("Choose phone call or in person."))
    urgency = _choice(Priority, request.urgency or "normal", tuple(Priority), "urgency",
                      errors, _l("Choose how urgent it is."))
    priority = (_choice(Priority, request.priority, tuple(Priority), "priority", errors,
                        _l("Choose a priority."))
                if request.priority else None)
    language = request.language or None
    if language is not None and language not in LANGUAGES:
        errors["language"] = [_l("Choose English or Chinese.")]
    subject = _text(request.subject)
    description = _text(request.description)
    if not 1 <= len(subject) <= 200:
        errors["subject"] = [_l("Describe the problem in a few words (at most 200 "
                                "characters).")]
    if not 1 <= len(description) <= 20000:
        errors["description"] = [_l("Write down what the customer told you (at most 20,000 "
                                    "characters).")]
    category, product = _text(request.category) or None, _text(request.product) or None
    for field, value in (("category", category), ("product", product)):
        if value is not None and len(value) > 80:
            errors[field] = [_l("Enter at most 80 characters.")]
    contact, email, phone = _customer(request, errors)
    if errors:
        raise InvalidInput("The ticket has invalid fields.", errors=errors)
    name, company = _text(request.name)[:120] or None, _text(request.company)[:200] or None
    if contact is None and email is None:
        contact = find_or_create_contact_by_phone(phone, name)
        if company and not contact.company:
            contact.company = company
    has_email = contact.email is not None if contact is not None else True
    source = asdict(request)
    source.pop("submission_id")
    return intake.submit(intake.IntakeRequest(
        subject=subject, description=description, customer_email=email,
        customer_name=name, customer_phone=phone, customer_company=company,
        channel=channel, contact=contact, urgency=urgency, priority=priority,
        category=category, product=product, language=language, actor=staff,
        acknowledge=request.acknowledge and has_email,
        idempotency_key=request.submission_id or None,
        idempotency_scope=f"console:{staff.id}",
        # The form as sent, not what the database made of it: a resent form replays.
        fingerprint_source=source))


def _customer(request: OnBehalfRequest,
              errors: dict[str, list]) -> tuple[Contact | None, str | None, str | None]:
    """The chosen contact, or the new customer's email and phone (one of them needed)."""
    if request.contact_id is not None:
        contact = db.session.get(Contact, request.contact_id) if is_id(request.contact_id) \
            else None
        if contact is None:
            errors["contact_id"] = [_l("This customer does not exist (any more). Search "
                                       "again or enter a new customer.")]
        return contact, None, None
    email = (request.email or "").strip().lower() or None
    phone = (request.phone or "").strip() or None
    if email is not None and not is_email(email):
        errors["email"] = [_l("Enter a valid email address.")]
    if phone is not None and (not _PHONE.match(phone) or normalize_phone(phone) is None):
        errors["phone"] = [_l("Enter a phone number: digits, spaces, + ( ) - or dots.")]
    if email is None and phone is None:
        errors["customer"] = [_l("Choose a customer from the search, or enter the new "
                                 "customer's email address or phone number.")]
    return None, email, phone


def _choice(enum_class, value: str | None, allowed: tuple, field: str,
            errors: dict[str, list], message):
    try:
        member = enum_class(value)
    except ValueError:
        member = None
    if member not in allowed:
        errors[field] = [message]
        return None
    return member


def _text(value: str | None) -> str:
    return strip_controls(value or "").strip()
