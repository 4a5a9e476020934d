"""The knowledge base's part of a customer export and erasure (see service/privacy).

What links a contact here: their "was this helpful?" votes cast while signed in to the
portal (stored under a keyed hash of the contact, see knowledge_base.visitors) and the
deflections they confirmed. Erase blanks comments and typed queries; votes and deflections
stay counted.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from knowledge_base.models import ArticleFeedback, Deflection
from knowledge_base.visitors import contact_visitor_key
from service.extensions import db
from service.privacy.registry import changed_rows, iso, register


def export_contact(contact_id: int) -> dict[str, Any]:
    """The contact's votes and deflections as JSON-ready values."""
    key = contact_visitor_key(contact_id)
    return {
        "article_feedback": [
            {"article_id": row.article_id, "helpful": row.helpful, "comment": row.comment,
             "language": row.language, "created_at": iso(row.created_at),
             "updated_at": iso(row.updated_at)}
            for row in db.session.scalars(select(ArticleFeedback).where(
                ArticleFeedback.visitor_key == key).order_by(ArticleFeedback.id))],
        "deflections": [
            {"article_id": row.article_id, "source": row.source.value, "query": row.query,
             "language": row.language, "created_at": iso(row.created_at)}
            for row in db.session.scalars(select(Deflection).where(
                Deflection.contact_id == contact_id).order_by(Deflection.id))],
    }


def erase_contact(contact_id: int, token: str) -> dict[str, int]:
    """Blank the contact's feedback comments and deflection queries; counts stay."""
    return {
        "article_feedback": changed_rows(update(ArticleFeedback).where(
            ArticleFeedback.visitor_key == contact_visitor_key(contact_id),
            ArticleFeedback.comment.is_not(None)).values(comment=None)),
        "deflections": changed_rows(update(Deflection).where(
            Deflection.contact_id == contact_id,
            Deflection.query != "").values(query="")),
    }


register("knowledge_base", export_contact, erase_contact)
