"""Mail about a ticket: threaded into the customer's (or agent's) conversation, bilingual.

Every mail carries our signed Message-ID, In-Reply-To/References of the ticket's thread, the
ticket number in the subject, text and HTML parts in the recipient's language, and the
reply-above-this-line marker, so a reply comes back to the same ticket without the history.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale

from service.auth.models import User
from service.extensions import db
from service.i18n import locale_for
from service.notify import mail
from service.notify.models import OutboundMail
from tickets.channels.email import identity, threads
from tickets.models import Ticket


def send(ticket: Ticket, *, dedupe_key: str, to_address: str, template: str,
         language: str | None, recipient: User | None = None, reply_subject: bool = False,
         **context) -> OutboundMail:
    """Render `tickets/mail/<template>.{txt,html}` and send it once per `dedupe_key`."""
    locale = locale_for(language)
    context["html_lang"] = "zh-CN" if locale == "zh_CN" else "en"
    with force_locale(locale):
        subject = render_template(f"tickets/mail/{template}_subject.txt", ticket=ticket,
                                  **context).strip()
        text = render_template(f"tickets/mail/{template}.txt", ticket=ticket, **context)
        html = render_template(f"tickets/mail/{template}.html", ticket=ticket, **context)
    if reply_subject and not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    threading = mail.Threading(
        message_id=identity.new_message_id(ticket.id, recipient.id if recipient else None),
        in_reply_to=threads.last_inbound_id(ticket.id),
        references=tuple(threads.references_for(ticket.id)),
        reply_to=current_app.config["MAIL_FROM"])
    sent = mail.send_mail(dedupe_key, to_address, subject, text, html=html,
                          threading=threading)
    # Replies to it (the customer's, or an agent's to a notice) thread by this id.
    threads.remember(sent.message_id, ticket.id, "out")
    db.session.commit()
    return sent
