"""An article's saved versions: full snapshots, the list, and field-by-field line diffs."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from service.auth.models import User
from service.errors import NotFound
from service.extensions import db
from service.validation import is_id

from knowledge_base.markdown import SECTION_LABELS
from knowledge_base.models import Article, ArticleVersion, Category

# The fields a restore copies back: the text and its classification. Language and
# audience stay as they are now (a restore must not move an article out of its
# translation group or turn an internal article public behind a publisher's back).
RESTORED_FIELDS = ("kind", "title", "summary", "body", "sections", "known_issue_status",
                   "category_id", "tags", "products")


@dataclass(frozen=True)
class DiffLine:
    kind: Literal["same", "add", "del"]
    text: str


@dataclass(frozen=True)
class DiffSection:
    field: str  # "title", "summary", "sections.symptoms", "body", "tags", "products", …
    label: str
    lines: list[DiffLine]


def snapshot(article: Article) -> dict[str, Any]:
    """The article's content as a version stores it (plain values, copies of lists)."""
    return {
        "kind": article.kind,
        "title": article.title,
        "summary": article.summary or "",
        "body": article.body or "",
        "sections": dict(article.sections or {}),
        "known_issue_status": article.known_issue_status,
        "category_id": article.category_id,
        "tags": list(article.tags or []),
        "products": list(article.product_names),
        "language": article.language,
        "audience": article.audience,
    }


def write_version(article: Article, author: User | None, note: str | None,
                  content: dict[str, Any] | None = None) -> ArticleVersion:
    """Record the article's current content as version `article.version` (flushes)."""
    content = content if content is not None else snapshot(article)
    version = ArticleVersion(article_id=article.id, number=article.version,
                             status=article.status, note=note,
                             author_id=author.id if author else None, **content)
    db.session.add(version)
    db.session.flush()
    return version


def versions(article: Article) -> list[ArticleVersion]:
    """The article's versions, newest first."""
    return list(db.session.scalars(
        select(ArticleVersion).where(ArticleVersion.article_id == article.id)
        .order_by(ArticleVersion.number.desc())))


def get_version(article: Article, number: int) -> ArticleVersion:
    """Version `number` of the article, or NotFound."""
    version = None
    if is_id(number):
        version = db.session.scalar(select(ArticleVersion).where(
            ArticleVersion.article_id == article.id, ArticleVersion.number == number))
    if version is None:
        raise NotFound(_("This article has no version %(number)s.", number=number))
    return version


_FIELD_LABELS = {
    "title": _l("Title"),
    "kind": _l("Kind"),
    "known_issue_status": _l("Known issue status"),
    "summary": _l("Summary"),
    "body": _l("Body"),
    "tags": _l("Tags"),
    "products": _l("Products"),
    "category": _l("Category"),
    "audience": _l("Audience"),
    "language": _l("Language"),
}


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return str(value).splitlines()


def line_diff(old: Any, new: Any) -> list[DiffLine]:
    """Every line of old and new, marked same / del / add (difflib's matching)."""
    before, after = _lines(old), _lines(new)
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            lines.extend(DiffLine("same", text) for text in before[i1:i2])
            continue
        lines.extend(DiffLine("del", text) for text in before[i1:i2])
        lines.extend(DiffLine("add", text) for text in after[j1:j2])
    return lines


def _category_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    locale = get_locale()
    language = locale.language if locale is not None else "en"
    rows = db.session.scalars(select(Category).where(Category.id.in_(ids)))
    return {row.id: row.name(language) for row in rows}


def _value(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def diff_versions(old: ArticleVersion, new: ArticleVersion) -> list[DiffSection]:
    """What changed from `old` to `new`, field by field; unchanged fields are left out."""
    pairs: list[tuple[str, str, Any, Any]] = [
        ("title", str(_FIELD_LABELS["title"]), old.title, new.title),
        ("kind", str(_FIELD_LABELS["kind"]), _value(old.kind), _value(new.kind)),
        ("known_issue_status", str(_FIELD_LABELS["known_issue_status"]),
         _value(old.known_issue_status), _value(new.known_issue_status)),
        ("summary", str(_FIELD_LABELS["summary"]), old.summary or "", new.summary or ""),
    ]
    old_sections, new_sections = old.sections or {}, new.sections or {}
    keys = [key for key in SECTION_LABELS if key in old_sections or key in new_sections]
    for key in keys:
        pairs.append((f"sections.{key}", str(SECTION_LABELS[key]),
                      old_sections.get(key) or "", new_sections.get(key) or ""))
    pairs += [
        ("body", str(_FIELD_LABELS["body"]), old.body or "", new.body or ""),
        ("tags", str(_FIELD_LABELS["tags"]), list(old.tags or []), list(new.tags or [])),
        ("products", str(_FIELD_LABELS["products"]), list(old.products or []),
         list(new.products or [])),
    ]
    if old.category_id != new.category_id:
        names = _category_names({i for i in (old.category_id, new.category_id) if i})
        pairs.append(("category", str(_FIELD_LABELS["category"]),
                      names.get(old.category_id, old.category_id),
                      names.get(new.category_id, new.category_id)))
    pairs += [
        ("audience", str(_FIELD_LABELS["audience"]), _value(old.audience),
         _value(new.audience)),
        ("language", str(_FIELD_LABELS["language"]), old.language, new.language),
    ]
    return [DiffSection(field, label, line_diff(before, after))
            for field, label, before, after in pairs if before != after]


def version_diff(article: Article, old: int, new: int) -> list[DiffSection]:
    """The changes between two of the article's versions (NotFound for a missing one)."""
    return diff_versions(get_version(article, old), get_version(article, new))
