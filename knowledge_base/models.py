"""Knowledge base: categories, articles and their versions, the tickets they serve, votes,
deflections, searches and views.

The search indexes themselves (SQLite FTS5, PostgreSQL tsvector and pg_trgm) are kept by
the search backends outside these models: see knowledge_base.search.schema.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.auth.models import User
from service.db_types import UTCDateTime, str_enum, utcnow
from service.extensions import db


class ArticleKind(enum.StrEnum):
    HOWTO = "howto"
    TROUBLESHOOTING = "troubleshooting"  # symptoms → cause → steps
    KNOWN_ISSUE = "known_issue"  # affected products and a status; linked from many tickets
    ROOT_CAUSE = "root_cause"  # problem, root cause, fix, prevention, linked tickets


# The structured parts of each kind (Markdown each), shown in this order before the body.
KIND_SECTIONS: dict[ArticleKind, tuple[str, ...]] = {
    ArticleKind.HOWTO: (),
    ArticleKind.TROUBLESHOOTING: ("symptoms", "cause", "steps"),
    ArticleKind.KNOWN_ISSUE: ("symptoms", "workaround"),
    ArticleKind.ROOT_CAUSE: ("problem", "root_cause", "fix", "prevention"),
}


class KnownIssueStatus(enum.StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    WORKAROUND = "workaround"  # a workaround is published, the fix is not out yet
    FIXED = "fixed"


class Audience(enum.StrEnum):
    PUBLIC = "public"  # the help centre, the public API, suggestions to customers
    INTERNAL = "internal"  # staff only


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class TicketLinkKind(enum.StrEnum):
    USED = "used"  # inserted into a reply on the ticket
    LINKED = "linked"  # the ticket is a case of this known issue / root cause
    SOURCE = "source"  # the article was drafted from this resolved ticket


class DeflectionSource(enum.StrEnum):
    WEB_FORM = "web_form"
    PORTAL = "portal"
    HELP_CENTRE = "help_centre"


class SearchSource(enum.StrEnum):
    HELP_CENTRE = "help_centre"
    API = "api"
    CONSOLE = "console"
    WEB_FORM = "web_form"  # the subject of a request sent after its suggestions were shown
    PORTAL = "portal"


class Category(db.Model):
    """A node of the category tree, named in both languages."""

    __tablename__ = "kb_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_categories.id", ondelete="RESTRICT"), index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    description_en: Mapped[str | None] = mapped_column(Text)
    description_zh: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Category | None] = relationship(remote_side="Category.id")

    def name(self, language: str) -> str:
        """The name in `language` ("zh…" or anything else for English)."""
        return self.name_zh if language.startswith("zh") else self.name_en


class Article(db.Model):
    """An article's current text and state; every save also becomes an ArticleVersion."""

    __tablename__ = "kb_articles"
    _PUBLISHED = "status = 'published'"
    _GROUPED = "translation_group_id IS NOT NULL"
    __table_args__ = (
        # The help centre and suggestions: published articles by audience and language.
        Index("ix_kb_articles_published", "audience", "language", "category_id",
              postgresql_where=text(_PUBLISHED), sqlite_where=text(_PUBLISHED)),
        Index("ix_kb_articles_status", "status", "updated_at"),
        # The review list: published articles past their review date.
        Index("ix_kb_articles_review", "review_by",
              postgresql_where=text(_PUBLISHED), sqlite_where=text(_PUBLISHED)),
        # One article per language in a translation group.
        Index("uq_kb_articles_translation", "translation_group_id", "language", unique=True,
              postgresql_where=text(_GROUPED), sqlite_where=text(_GROUPED)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[ArticleKind] = mapped_column(str_enum(ArticleKind, "kb_article_kind"))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    # The kind's structured parts (KIND_SECTIONS), Markdown each.
    sections: Mapped[dict] = mapped_column(JSON, default=dict)
    known_issue_status: Mapped[KnownIssueStatus | None] = mapped_column(
        str_enum(KnownIssueStatus, "kb_known_issue_status"))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_categories.id", ondelete="SET NULL"), index=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(8))  # "zh" or "en"
    # Translations share a group: the id of the group's first article.
    translation_group_id: Mapped[int | None] = mapped_column(Integer)
    audience: Mapped[Audience] = mapped_column(str_enum(Audience, "kb_audience"))
    status: Mapped[ArticleStatus] = mapped_column(str_enum(ArticleStatus, "kb_article_status"),
                                                  default=ArticleStatus.DRAFT)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 index=True)
    review_by: Mapped[date | None] = mapped_column(Date)
    # The resolved ticket it was drafted from, if any.
    source_ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)  # the current version's number
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    helpful_yes: Mapped[int] = mapped_column(Integer, default=0)
    helpful_no: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    category: Mapped[Category | None] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    products: Mapped[list[ArticleProduct]] = relationship(
        cascade="all, delete-orphan", order_by="ArticleProduct.product")

    @property
    def product_names(self) -> list[str]:
        return [row.product for row in self.products]


class ArticleProduct(db.Model):
    """A product an article is about (the filter, and a known issue's affected products)."""

    __tablename__ = "kb_article_products"
    __table_args__ = (Index("ix_kb_article_products_product", "product", "article_id"),)

    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"),
                                            primary_key=True)
    product: Mapped[str] = mapped_column(String(100), primary_key=True)


class ArticleVersion(db.Model):
    """One saved state of an article: who saved it and everything it said."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "number",
                                       name="uq_kb_article_versions_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ArticleKind] = mapped_column(str_enum(ArticleKind, "kb_article_kind"))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    sections: Mapped[dict] = mapped_column(JSON, default=dict)
    known_issue_status: Mapped[KnownIssueStatus | None] = mapped_column(
        str_enum(KnownIssueStatus, "kb_known_issue_status"))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_categories.id", ondelete="SET NULL"))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    products: Mapped[list] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(8))
    audience: Mapped[Audience] = mapped_column(str_enum(Audience, "kb_audience"))
    status: Mapped[ArticleStatus] = mapped_column(str_enum(ArticleStatus, "kb_article_status"))
    note: Mapped[str | None] = mapped_column(String(300))  # "restored version 3", a change note
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class ArticleTicket(db.Model):
    """A ticket an article served: used in a reply, linked as a case, or its source."""

    __tablename__ = "kb_article_tickets"
    __table_args__ = (
        UniqueConstraint("article_id", "ticket_id", "kind", name="uq_kb_article_tickets"),
        Index("ix_kb_article_tickets_ticket", "ticket_id"),
        Index("ix_kb_article_tickets_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[TicketLinkKind] = mapped_column(str_enum(TicketLinkKind, "kb_ticket_link"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the ticket was (last) resolved after the link was made: "resolved with an article".
    ticket_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ArticleAttachment(db.Model):
    """A file of an article (images shown in its body); bytes kept in the database."""

    __tablename__ = "kb_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"),
                                            index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))  # sniffed from the bytes
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleFeedback(db.Model):
    """A visitor's "was this helpful?" vote on an article (one per visitor, changeable)."""

    __tablename__ = "kb_feedback"
    __table_args__ = (
        UniqueConstraint("article_id", "visitor_key", name="uq_kb_feedback_visitor"),
        Index("ix_kb_feedback_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    # SHA-256 of the visitor's random cookie id (or of the portal contact), never the raw id.
    visitor_key: Mapped[str] = mapped_column(String(64))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Deflection(db.Model):
    """A request that ended without a ticket: "this article solved my problem"."""

    __tablename__ = "kb_deflections"
    __table_args__ = (Index("ix_kb_deflections_created", "created_at"),
                      Index("ix_kb_deflections_article", "article_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    source: Mapped[DeflectionSource] = mapped_column(
        str_enum(DeflectionSource, "kb_deflection_source"))
    query: Mapped[str] = mapped_column(String(300), default="")  # what the customer typed
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Search(db.Model):
    """One search, kept for the content-gap list (searches that found nothing)."""

    __tablename__ = "kb_searches"
    _NOTHING = "results = 0"
    __table_args__ = (
        Index("ix_kb_searches_created", "created_at"),
        Index("ix_kb_searches_no_result", "created_at",
              postgresql_where=text(_NOTHING), sqlite_where=text(_NOTHING)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query: Mapped[str] = mapped_column(String(200))  # normalised: trimmed, lower case
    source: Mapped[SearchSource] = mapped_column(str_enum(SearchSource, "kb_search_source"))
    language: Mapped[str | None] = mapped_column(String(8))
    results: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleDailyViews(db.Model):
    """Views of an article per UTC day (the numbers' views over a period)."""

    __tablename__ = "kb_article_views"
    __table_args__ = (Index("ix_kb_article_views_day", "day"),)

    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"),
                                            primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    views: Mapped[int] = mapped_column(Integer, default=0)


def _install_search_tables() -> None:
    from knowledge_base.search.schema import install_ddl_listeners

    install_ddl_listeners(Article.__table__)


_install_search_tables()
