"""Background entry points of the email channel: take ids, load, call a service."""
from __future__ import annotations

from service.extensions import db
from service.jobs import enqueue, job


@job(queue="default")
def poll_mailbox(mailbox_id: int) -> None:
    """Fetch one mailbox's unseen mail over IMAP (failures are recorded on the mailbox)."""
    from tickets.channels.email.imap import poll

    poll(mailbox_id)


@job(queue="sweeps")
def poll_all_mailboxes() -> None:
    """Queue one IMAP poll per active mailbox that has polling switched on."""
    from tickets.channels.email.mailboxes import pollable_mailbox_ids

    for mailbox_id in pollable_mailbox_ids():
        enqueue(poll_mailbox, mailbox_id)
    db.session.commit()


@job(queue="default")
def process_inbound_email(inbound_id: int) -> None:
    """Turn a stored inbound message into a ticket or a reply (or record why not)."""
    from tickets.channels.email.inbound import process

    process(inbound_id)
