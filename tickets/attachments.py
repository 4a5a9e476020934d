"""Attachments: stored once by content, named safely, typed by their bytes, size-limited."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

import filetype
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.extensions import db
from tickets.models import Attachment, AttachmentBlob, Visibility

_UNSAFE = re.compile(r"[^\w.\- ()\[\]\u4e00-\u9fff]+")
GENERIC_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Refused:
    """An attachment we did not store, and why (shown on the ticket's timeline)."""
    filename: str
    size: int
    reason: str


def safe_filename(name: str | None, fallback: str = "attachment") -> str:
    """A file name with no path, control characters or shell/HTML specials; never empty."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # drop any directory part
    name = _UNSAFE.sub("_", name).strip(" ._")
    if not name:
        name = fallback
    stem, dot, ext = name.rpartition(".")
    if dot and len(ext) <= 10:
        return f"{stem[:190]}.{ext}"
    return name[:200]


def sniff_type(data: bytes, declared: str | None) -> str:
    """The content type the bytes show; plain text only if they decode; else octet-stream."""
    kind = filetype.guess(data[:8192])
    if kind is not None:
        return kind.mime
    if declared and declared.startswith("text/"):
        try:
            data[:65536].decode("utf-8")
        except UnicodeDecodeError:
            return GENERIC_TYPE
        return "text/plain"
    return GENERIC_TYPE


def store(ticket_id: int, message_id: int | None, filename: str | None, data: bytes,
          declared_type: str | None = None, *, content_id: str | None = None,
          inline: bool = False,
          visibility: Visibility = Visibility.PUBLIC) -> Attachment | Refused:
    """Keep one attachment of a message, or say why it was refused (too large)."""
    name = safe_filename(filename)
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    if len(data) > limit:
        return Refused(name, len(data), f"larger than the {limit // (1024 * 1024)} MB limit")
    digest = hashlib.sha256(data).hexdigest()
    if db.session.scalar(select(AttachmentBlob.sha256)
                         .where(AttachmentBlob.sha256 == digest)) is None:
        try:
            with db.session.begin_nested():
                db.session.add(AttachmentBlob(sha256=digest, size=len(data), data=data))
        except IntegrityError:
            pass  # the same bytes were stored concurrently: one blob serves both
    attachment = Attachment(ticket_id=ticket_id, message_id=message_id, filename=name,
                            content_type=sniff_type(data, declared_type),
                            declared_type=(declared_type or "")[:100] or None,
                            size=len(data), sha256=digest,
                            content_id=(content_id or "")[:250] or None, is_inline=inline,
                            visibility=visibility)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def content(attachment: Attachment) -> bytes:
    """The stored bytes of an attachment."""
    return db.session.scalar(select(AttachmentBlob.data)
                             .where(AttachmentBlob.sha256 == attachment.sha256))
