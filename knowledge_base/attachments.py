"""An article's files: images (and PDFs) its Markdown refers to, kept in the database.

Markdown shows one as ![alt](/help/articles/<article_id>/files/<attachment_id>): the help
centre serves it to whoever may see the article (the console serves the same bytes to
staff at /console/kb/articles/<article_id>/files/<attachment_id>).
"""
from __future__ import annotations

import hashlib

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import defer

from service.auth.models import User
from service.errors import Forbidden, InvalidInput, NotFound
from service.extensions import db
from service.validation import is_id
from tickets.attachments import safe_filename, sniff_type

from knowledge_base.access import may_edit, visible_article
from knowledge_base.models import Article, ArticleAttachment

# Sniffed from the bytes, never taken from the upload's declared type. No SVG: it can
# carry script.
ALLOWED_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}


def add_attachment(user: User, article: Article, filename: str | None, data: bytes,
                   declared_type: str | None) -> ArticleAttachment:
    """Keep a file of the article (may_edit required); InvalidInput (field `file`) when it
    is empty, too large or not a PNG, JPEG, GIF, WebP image or PDF."""
    if not may_edit(user, article):
        raise Forbidden(_("You may not edit this article in its current status."))
    limit = current_app.config["KB_ATTACHMENT_MAX_BYTES"]
    if not data:
        raise InvalidInput(errors={"file": [_("The file is empty.")]})
    if len(data) > limit:
        raise InvalidInput(errors={"file": [_("The file is larger than the %(size)s limit.",
                                              size=_size(limit))]})
    content_type = sniff_type(data, declared_type)
    if content_type not in ALLOWED_TYPES:
        raise InvalidInput(errors={"file": [_("Only PNG, JPEG, GIF and WebP images and PDF "
                                              "files can be attached.")]})
    attachment = ArticleAttachment(
        article_id=article.id, filename=safe_filename(filename, fallback="file"),
        content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        data=data, uploaded_by_id=user.id)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{limit / 1024:g} KB"


def attachments_of(article: Article) -> list[ArticleAttachment]:
    """The article's files, oldest first, without loading their bytes."""
    return list(db.session.scalars(
        select(ArticleAttachment).where(ArticleAttachment.article_id == article.id)
        .options(defer(ArticleAttachment.data)).order_by(ArticleAttachment.id)))


def attachment_for(user: User | None, article_id: int, attachment_id: int) -> ArticleAttachment:
    """A file of an article the user may see; NotFound otherwise (also when the file
    belongs to another article)."""
    visible_article(user, article_id)
    attachment = db.session.get(ArticleAttachment, attachment_id) if is_id(attachment_id) \
        else None
    if attachment is None or attachment.article_id != article_id:
        raise NotFound(_("No such file."))
    return attachment
