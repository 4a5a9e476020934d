"""Deflections: a customer read a suggested article and did not send the request."""
from __future__ import annotations

import re

from flask_babel import gettext as _

from knowledge_base import access
from knowledge_base.models import Deflection, DeflectionSource
from knowledge_base.searches import search_language
from service.errors import InvalidInput, NotFound
from service.extensions import db
from service.validation import is_id, strip_controls

QUERY_MAX = 300  # Deflection.query's column width
_SPACES = re.compile(r"\s+")


def record_deflection(article_id: int, source: DeflectionSource, *, query: str = "",
                      contact_id: int | None = None,
                      language: str | None = None) -> Deflection:
    """Record that `article_id` solved a customer's problem ("this solved my problem").

    NotFound unless the article is published and public; InvalidInput for an unknown
    source or contact id. `query` is what the customer had typed (kept as typed, trimmed,
    at most QUERY_MAX characters). Flushes; the caller commits.
    """
    if not is_id(article_id):
        raise NotFound(_("No such article."))
    try:
        source = DeflectionSource(source)
    except ValueError as error:
        choices = ", ".join(item.value for item in DeflectionSource)
        raise InvalidInput(_("Unknown source."), errors={
            "source": [_("One of: %(choices)s.", choices=choices)]}) from error
    if contact_id is not None and not is_id(contact_id):
        raise InvalidInput(_("Unknown contact."), errors={"contact_id": [_("Not a valid id.")]})
    article = access.visible_article(None, article_id)  # published and public, or NotFound
    text = _SPACES.sub(" ", strip_controls(query or "")).strip()[:QUERY_MAX].rstrip()
    deflection = Deflection(article_id=article.id, source=source, query=text,
                            contact_id=contact_id, language=search_language(language))
    db.session.add(deflection)
    db.session.flush()
    return deflection
