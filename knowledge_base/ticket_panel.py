"""The knowledge base on the console's ticket page (registered at import).

- Panel "knowledge_base": the articles used on or linked to the ticket, suggested articles
  for its subject and first message (or the results of the panel's own search, `?kb_q=`),
  each with "Insert into reply" and, for known issues and root causes, "Link"/"Unlink";
  "Draft an article from this ticket" once it is resolved or closed.
- Reply draft `?kb_article=<id>`: a public article as its title, summary and help-centre
  link (a public reply); an internal article as its text (an internal note only).
- Timeline sentences for the knowledge base's ticket events.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.errors import NotFound
from service.extensions import db
from service.console.form_values import as_id
from service.validation import strip_controls
from knowledge_base import access, drafting, ticket_links
from knowledge_base.labels import AUDIENCE_LABELS, KIND_LABELS, STATUS_LABELS
from knowledge_base.presenters import article_address
from knowledge_base.models import (KIND_SECTIONS, Article, ArticleKind, ArticleStatus, Audience,
                                   TicketLinkKind)
from knowledge_base.searches import search_language
from tickets import facts
from tickets.models import Ticket, TicketEvent
from tickets.ticket_page import (EventNames, ReplyDraft, register_event_sentence, register_panel,
                                 register_reply_draft)

TEMPLATE = "knowledge_base/panels/_ticket_kb.html"
SUGGESTIONS = 5
SEARCH_RESULTS = 10
QUERY_MAX = 200
# The part of the first message that goes into the suggestion query (its opening says most).
MESSAGE_CHARS = 300
REPLY_MAX = 20000

LINK_LABELS = {TicketLinkKind.USED: _l("Used in a reply"),
               TicketLinkKind.LINKED: _l("Linked as a case"),
               TicketLinkKind.SOURCE: _l("Drafted from this ticket")}


def console_url(endpoint: str, article_id: int) -> str:
    """The URL of an article's console page (`kb_console.show`, `kb_console.edit`)."""
    return url_for(endpoint, article_id=article_id)


def _item(article: Article, links: set[TicketLinkKind]) -> dict[str, Any]:
    kind = ArticleKind(article.kind)
    return {"id": article.id, "title": article.title, "kind": kind.value,
            "kind_label": KIND_LABELS[kind], "audience": Audience(article.audience).value,
            "audience_label": AUDIENCE_LABELS[Audience(article.audience)],
            "status": ArticleStatus(article.status).value,
            "status_label": STATUS_LABELS[ArticleStatus(article.status)],
            "published": article.status == ArticleStatus.PUBLISHED,
            "linkable": kind in ticket_links.LINKABLE_KINDS,
            "linked": TicketLinkKind.LINKED in links,
            "links": [str(LINK_LABELS[link]) for link in sorted(links)],
            "url": console_url("kb_console.show", article.id)}


def _query_arg() -> str:
    if not has_request_context():
        return ""
    return " ".join(strip_controls(request.args.get("kb_q") or "").split())[:QUERY_MAX]


def _suggestion_texts(ticket: Ticket) -> list[str]:
    """The subject alone first (it says what the problem is), then with the message's
    opening: a long text asks a hit to match many words, so it finds less on its own."""
    first = facts.first_message_facts(ticket.id)
    message = first.body[:MESSAGE_CHARS] if first and first.visibility == "public" else ""
    texts = [ticket.subject.strip(), f"{ticket.subject} {message}".strip()]
    return [text for index, text in enumerate(texts) if text and text not in texts[:index]]


def _found_ids(ticket: Ticket, query: str, exclude: set[int]) -> list[int]:
    """Article ids for the panel: the search's results, else suggestions for the ticket."""
    from knowledge_base import search

    if query:
        result = search.search(search.SearchQuery(text=query, public_only=False,
                                                  limit=SEARCH_RESULTS))
        return [hit.article_id for hit in result.hits]
    wanted = SUGGESTIONS + len(exclude)
    language = search_language(ticket.language)
    # Its language first, then any language (too few otherwise).
    languages = [language, None] if language is not None else [None]
    hits: list = []
    seen: set[int] = set()
    for text in _suggestion_texts(ticket):
        for wanted_language in languages:
            if len(hits) >= wanted:
                break
            found = search.suggest(text, public_only=False, language=wanted_language,
                                   limit=wanted)
            hits += [hit for hit in found if hit.article_id not in seen]
            seen.update(hit.article_id for hit in found)
    return [hit.article_id for hit in hits if hit.article_id not in exclude][:SUGGESTIONS]


def panel_context(user: User, ticket: Ticket) -> dict[str, Any] | None:
    """What the panel shows: this ticket's articles, suggestions or search results."""
    if not can(user, Permission.KB_VIEW):
        return None
    on_ticket: dict[int, tuple[Article, set[TicketLinkKind]]] = {}
    for article, link in ticket_links.articles_of(ticket.id):
        on_ticket.setdefault(article.id, (article, set()))[1].add(TicketLinkKind(link.kind))
    query = _query_arg()
    search_error = False
    try:
        ids = _found_ids(ticket, query, set(on_ticket))
    except Exception:  # the ticket page must show even when the search backend fails
        current_app.logger.exception("knowledge base panel: search failed")
        ids, search_error = [], True
    found = {article.id: article for article in db.session.scalars(
        select(Article).where(Article.id.in_(ids), Article.status == ArticleStatus.PUBLISHED))
    } if ids else {}
    may_write = can(user, Permission.KB_WRITE)
    draftable = may_write and ticket.status.value in drafting.DRAFTABLE_STATUSES
    draft_id = drafting.existing_draft(ticket.id) if draftable else None
    return {
        "articles": [_item(article, links) for article, links in on_ticket.values()],
        "found": [_item(found[article_id], on_ticket.get(article_id, (None, set()))[1])
                  for article_id in ids if article_id in found],
        "query": query, "search_error": search_error, "may_write": may_write,
        "may_insert": may_write and ticket.status.value != "closed",
        "may_draft": draftable and draft_id is None,
        "draft_url": console_url("kb_console.show", draft_id) if draft_id else None,
        "draft_id": draft_id,
    }


# ---- the reply box ----

def _public_reply(article: Article) -> str:
    # Absolute, like the mails' links: the customer reads it outside the console.
    parts = [article.title, article.summary.strip() if article.summary else "",
             article_address(article.id)]
    return "\n\n".join(part for part in parts if part)


def _internal_text(article: Article) -> str:
    from knowledge_base.markdown import SECTION_LABELS, plain_text

    parts = [article.title]
    if article.summary:
        parts.append(article.summary.strip())
    sections = article.sections or {}
    for key in KIND_SECTIONS[ArticleKind(article.kind)]:
        text = plain_text(sections.get(key) or "")
        if text:
            parts.append(f"{SECTION_LABELS[key]}:\n{text}")
    body = plain_text(article.body or "")
    if body:
        parts.append(body)
    return "\n\n".join(parts)[:REPLY_MAX]


def reply_draft(user: User, ticket: Ticket, value: str) -> ReplyDraft | None:
    """The reply box's text for `?kb_article=<id>`: None unless the user has KB_WRITE and may
    see that published article. Internal text is only ever offered as an internal note."""
    article_id = as_id(value)
    if not can(user, Permission.KB_WRITE) or article_id is None:
        return None
    try:
        article = access.visible_article(user, article_id)
    except NotFound:
        return None
    if article.status != ArticleStatus.PUBLISHED:
        return None
    if article.audience == Audience.PUBLIC:
        return ReplyDraft(_public_reply(article)[:REPLY_MAX], "public")
    return ReplyDraft(_internal_text(article), "internal")


# ---- timeline sentences ----

def _title(event: TicketEvent) -> str:
    return (event.data or {}).get("title") or "?"


def _used(event: TicketEvent, actor: str, names: EventNames) -> tuple[str, list[str]]:
    return _("%(actor)s used the article “%(title)s” in a reply.", actor=actor,
             title=_title(event)), []


def _linked(event: TicketEvent, actor: str, names: EventNames) -> tuple[str, list[str]]:
    return _("%(actor)s linked this ticket to the article “%(title)s”.", actor=actor,
             title=_title(event)), []


def _unlinked(event: TicketEvent, actor: str, names: EventNames) -> tuple[str, list[str]]:
    return _("%(actor)s unlinked this ticket from the article “%(title)s”.", actor=actor,
             title=_title(event)), []


def _drafted(event: TicketEvent, actor: str, names: EventNames) -> tuple[str, list[str]]:
    return _("%(actor)s drafted the article “%(title)s” from this ticket.", actor=actor,
             title=_title(event)), []


register_event_sentence(ticket_links.EVENT_USED, _used)
register_event_sentence(ticket_links.EVENT_LINKED, _linked)
register_event_sentence(ticket_links.EVENT_UNLINKED, _unlinked)
register_event_sentence(drafting.EVENT_DRAFTED, _drafted)
register_panel("knowledge_base", TEMPLATE, panel_context, order=40)
register_reply_draft("kb_article", reply_draft)
