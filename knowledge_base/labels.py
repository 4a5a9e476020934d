"""The knowledge base's enum values in words, one table each for every page (console, help
centre, ticket panel)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from knowledge_base.models import ArticleKind, ArticleStatus, Audience, KnownIssueStatus

KIND_LABELS = {
    ArticleKind.HOWTO: _l("How-to"),
    ArticleKind.TROUBLESHOOTING: _l("Troubleshooting"),
    ArticleKind.KNOWN_ISSUE: _l("Known issue"),
    ArticleKind.ROOT_CAUSE: _l("Root-cause analysis"),
}
STATUS_LABELS = {
    ArticleStatus.DRAFT: _l("Draft"),
    ArticleStatus.IN_REVIEW: _l("In review"),
    ArticleStatus.PUBLISHED: _l("Published"),
    ArticleStatus.ARCHIVED: _l("Archived"),
}
AUDIENCE_LABELS = {Audience.PUBLIC: _l("Public"), Audience.INTERNAL: _l("Internal")}
KNOWN_ISSUE_LABELS = {
    KnownIssueStatus.INVESTIGATING: _l("Investigating"),
    KnownIssueStatus.IDENTIFIED: _l("Cause identified"),
    KnownIssueStatus.WORKAROUND: _l("Workaround available"),
    KnownIssueStatus.FIXED: _l("Fixed"),
}
