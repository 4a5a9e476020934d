"""Admin endpoints of mailboxes: create, list, IMAP settings, inbound secret rotation.

Inbound secrets are returned once (on creation or rotation); IMAP passwords never.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint

from service.api import current_user, doc, json_body
from service.auth.permissions import Permission, require
from service.errors import InvalidInput
from service.extensions import db
from tickets.channels.email import mailboxes
from tickets.channels.email.models import Mailbox
from tickets.channels.email.schemas import (MailboxCreatedOut, MailboxIn, MailboxListOut,
                                            MailboxOut, MailboxPatch, MailboxSecretOut)

blueprint = Blueprint("mailboxes_admin_api", __name__)

_in, _patch, _out = MailboxIn(), MailboxPatch(), MailboxOut()
_created_out, _list_out, _secret_out = MailboxCreatedOut(), MailboxListOut(), MailboxSecretOut()


def present(mailbox: Mailbox) -> dict[str, Any]:
    """The API view of a mailbox: no secret, no password."""
    return {
        "id": mailbox.id, "name": mailbox.name, "address": mailbox.address,
        "is_active": mailbox.is_active, "secret_prefix": mailbox.secret_prefix,
        "created_at": mailbox.created_at,
        "imap": {"host": mailbox.imap_host, "port": mailbox.imap_port,
                 "username": mailbox.imap_username, "folder": mailbox.imap_folder,
                 "enabled": mailbox.imap_enabled,
                 "password_set": mailbox.imap_password_encrypted is not None,
                 "last_polled_at": mailbox.last_polled_at,
                 "last_poll_error": mailbox.last_poll_error},
    }


@blueprint.post("/admin/mailboxes")
@doc("Create a mailbox; its inbound secret is returned this once", tags=["admin"],
     body=MailboxIn, responses={201: MailboxCreatedOut})
def create_mailbox():
    require(current_user(), Permission.ADMIN_MAILBOXES)
    data = json_body(_in)
    mailbox, secret = mailboxes.create_mailbox(data["name"], data["address"])
    db.session.commit()
    return _created_out.dump({**present(mailbox), "secret": secret}), 201


@blueprint.get("/admin/mailboxes")
@doc("Every mailbox with its IMAP state (no secrets)", tags=["admin"],
     responses={200: MailboxListOut})
def list_mailboxes():
    require(current_user(), Permission.ADMIN_MAILBOXES)
    return _list_out.dump({"items": [present(m) for m in mailboxes.list_mailboxes()]})


@blueprint.get("/admin/mailboxes/<id:mailbox_id>")
@doc("One mailbox with its IMAP state (no secrets)", tags=["admin"],
     responses={200: MailboxOut})
def get_mailbox(mailbox_id: int):
    require(current_user(), Permission.ADMIN_MAILBOXES)
    return _out.dump(present(mailboxes.get_mailbox(mailbox_id)))


@blueprint.patch("/admin/mailboxes/<id:mailbox_id>")
@doc("Switch a mailbox on or off, or change its IMAP settings (password write-only)",
     tags=["admin"], body=MailboxPatch, responses={200: MailboxOut})
def patch_mailbox(mailbox_id: int):
    require(current_user(), Permission.ADMIN_MAILBOXES)
    changes = json_body(_patch)
    if not changes:
        raise InvalidInput("Nothing to change: send is_active and/or imap.")
    mailbox = mailboxes.get_mailbox(mailbox_id)
    try:
        mailboxes.update_mailbox(mailbox, is_active=changes.get("is_active"),
                                 imap=changes.get("imap"))
    except InvalidInput as error:
        db.session.rollback()
        if error.errors and "imap" in changes:  # the settings' fields, where the client sent them
            raise InvalidInput(error.detail, errors={"imap": error.errors}) from None
        raise
    db.session.commit()
    return _out.dump(present(mailbox))


@blueprint.post("/admin/mailboxes/<id:mailbox_id>/rotate-secret")
@doc("Replace a mailbox's inbound secret (the old one stops working at once)",
     tags=["admin"], responses={200: MailboxSecretOut})
def rotate_secret(mailbox_id: int):
    require(current_user(), Permission.ADMIN_MAILBOXES)
    mailbox = mailboxes.get_mailbox(mailbox_id)
    secret = mailboxes.rotate_secret(mailbox)
    db.session.commit()
    return _secret_out.dump({"id": mailbox.id, "secret": secret,
                             "secret_prefix": mailbox.secret_prefix})
