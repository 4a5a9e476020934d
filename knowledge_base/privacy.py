"""The knowledge base's part of a customer export and erasure (see service/privacy).

What links a contact here: their "was this helpful?" votes cast while signed in to the
portal (stored under a keyed hash of the contact, see knowledge_base.visitors) and the
deflections they confirmed. Erase blanks comments and typed queries; votes and deflections
stay counted.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from knowledge_base.models import ArticleFeedback, Deflection
from service.extensions import db
from service.privacy.registry import register


def contact_visitor_key(contact_id: int) -> str:
    """The visitor key a portal contact's votes are stored under (as visitors.visitor_key)."""
    secret = current_app.config["SECRET_KEY"].encode()
    message = f"kb-contact:{contact_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def export_contact(contact_id: int) -> dict[str, Any]:
    """The contact's votes and deflections as JSON-ready values."""
    key = contact_visitor_key(contact_id)
    return {
        "article_feedback": [
            {"article_id": row.article_id, "helpful": row.helpful, "comment": row.comment,
             "language": row.language, "created_at": _iso(row.created_at),
             "updated_at": _iso(row.updated_at)}
            for row in db.session.scalars(select(ArticleFeedback).where(
                ArticleFeedback.visitor_key == key).order_by(ArticleFeedback.id))],
        "deflections": [
            {"article_id": row.article_id, "source": row.source.value, "query": row.query,
             "language": row.language, "created_at": _iso(row.created_at)}
            for row in db.session.scalars(select(Deflection).where(
                Deflection.contact_id == contact_id).order_by(Deflection.id))],
    }


def _changed(statement) -> int:
    return db.session.execute(statement, execution_options={"synchronize_session": False}
                              ).rowcount or 0


def erase_contact(contact_id: int, token: str) -> dict[str, int]:
    """Blank the contact's feedback comments and deflection queries; counts stay."""
    return {
        "article_feedback": _changed(update(ArticleFeedback).where(
            ArticleFeedback.visitor_key == contact_visitor_key(contact_id),
            ArticleFeedback.comment.is_not(None)).values(comment=None)),
        "deflections": _changed(update(Deflection).where(
            Deflection.contact_id == contact_id,
            Deflection.query != "").values(query="")),
    }


register("knowledge_base", export_contact, erase_contact)
