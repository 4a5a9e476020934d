"""The category tree: reading it whole, and creating, moving and deleting its nodes."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from service.auth.models import User
from service.auth.permissions import Permission, require
from service.errors import Conflict, InvalidInput
from service.extensions import db
from service.validation import is_id, strip_controls

from knowledge_base.models import Article, ArticleStatus, Audience, Category

CATEGORY_FIELDS = ("slug", "name_en", "name_zh", "description_en", "description_zh",
                   "parent_id", "position")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG, MAX_NAME, MAX_DESCRIPTION = 80, 120, 2000
MAX_POSITION = 10_000


@dataclass
class CategoryNode:
    category: Category
    depth: int
    children: list[CategoryNode] = field(default_factory=list)
    article_count: int = 0  # articles in it and its subcategories


def _parents() -> dict[int, int | None]:
    return dict(db.session.execute(select(Category.id, Category.parent_id)).all())


def descendant_ids(category_id: int) -> list[int]:
    """The category itself and every subcategory below it (an unknown id: just itself)."""
    children: dict[int | None, list[int]] = {}
    for node, parent in _parents().items():
        children.setdefault(parent, []).append(node)
    found, stack = [], [category_id]
    while stack:  # the parent check on writes keeps the tree acyclic; `found` guards anyway
        node = stack.pop()
        if node in found:
            continue
        found.append(node)
        stack.extend(children.get(node, []))
    return found


def category_tree(*, public_only: bool = False) -> list[CategoryNode]:
    """Every category in pre-order (parents before children, by position then name), each
    with its depth, children and article count (its subtree's; `public_only`: only
    published public articles, as the help centre counts)."""
    categories = list(db.session.scalars(
        select(Category).order_by(Category.position, Category.name_en, Category.id)))
    counts_query = select(Article.category_id, func.count()).where(
        Article.category_id.is_not(None)).group_by(Article.category_id)
    if public_only:
        counts_query = counts_query.where(Article.status == ArticleStatus.PUBLISHED,
                                          Article.audience == Audience.PUBLIC)
    direct = dict(db.session.execute(counts_query).all())
    nodes = {category.id: CategoryNode(category, 0) for category in categories}
    roots: list[CategoryNode] = []
    for category in categories:
        node = nodes[category.id]
        parent = nodes.get(category.parent_id) if category.parent_id else None
        (parent.children if parent is not None else roots).append(node)
    ordered: list[CategoryNode] = []

    def walk(node: CategoryNode, depth: int) -> int:
        node.depth = depth
        ordered.append(node)
        node.article_count = direct.get(node.category.id, 0) + sum(
            walk(child, depth + 1) for child in node.children)
        return node.article_count

    for root in roots:
        walk(root, 0)
    return ordered


# ---- writing ----

def _clean(data: dict[str, Any], category: Category | None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(_("Give the category's fields."))
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in CATEGORY_FIELDS:
            errors[str(key)] = [_("Unknown field.")]
    creating = category is None
    clean: dict[str, Any] = {}
    if creating or "slug" in data:
        slug = data.get("slug")
        slug = slug.strip().lower() if isinstance(slug, str) else ""
        if not slug or len(slug) > MAX_SLUG or not _SLUG.match(slug):
            errors["slug"] = [_("Use lower-case letters, digits and single hyphens "
                                "(at most %(limit)s).", limit=MAX_SLUG)]
        elif db.session.scalar(select(Category.id).where(
                Category.slug == slug, Category.id != (category.id if category else 0))):
            errors["slug"] = [_("Another category already uses this slug.")]
        clean["slug"] = slug
    for name_field in ("name_en", "name_zh"):
        if creating or name_field in data:
            value = data.get(name_field)
            value = " ".join(strip_controls(value).split()) if isinstance(value, str) else ""
            if not value:
                errors[name_field] = [_("This field is required.")]
            elif len(value) > MAX_NAME:
                errors[name_field] = [_("At most %(limit)s characters.", limit=MAX_NAME)]
            clean[name_field] = value
    for text_field in ("description_en", "description_zh"):
        if text_field in data:
            value = data.get(text_field)
            if value is not None and not isinstance(value, str):
                errors[text_field] = [_("Give text.")]
                continue
            value = strip_controls(value or "").strip()
            if len(value) > MAX_DESCRIPTION:
                errors[text_field] = [_("At most %(limit)s characters.",
                                        limit=MAX_DESCRIPTION)]
            clean[text_field] = value or None
    if "parent_id" in data:
        parent_id = data.get("parent_id")
        if parent_id is not None:
            if not is_id(parent_id) or db.session.get(Category, parent_id) is None:
                errors["parent_id"] = [_("No such category.")]
            elif category is not None and parent_id in descendant_ids(category.id):
                errors["parent_id"] = [_("A category cannot be placed inside itself or "
                                         "one of its subcategories.")]
        clean["parent_id"] = parent_id
    if "position" in data:
        position = data.get("position")
        if position is None:
            position = 0
        if isinstance(position, bool) or not isinstance(position, int) \
                or abs(position) > MAX_POSITION:
            errors["position"] = [_("Give a whole number from -%(max)s to %(max)s.",
                                    max=MAX_POSITION)]
        clean["position"] = position
    if errors:
        raise InvalidInput(_("Some fields need attention."), errors=errors)
    return clean


def create_category(user: User, data: dict) -> Category:
    """A new category (kb.categories); InvalidInput lists every field problem."""
    require(user, Permission.KB_CATEGORIES)
    category = Category(**{"position": 0, **_clean(data, None)})
    db.session.add(category)
    db.session.flush()
    return category


def update_category(user: User, category: Category, changes: dict) -> Category:
    """Change the fields present; moving it under itself or a descendant is refused."""
    require(user, Permission.KB_CATEGORIES)
    for key, value in _clean(changes, category).items():
        setattr(category, key, value)
    db.session.flush()
    return category


def delete_category(user: User, category: Category) -> None:
    """Delete an empty category; Conflict while it has subcategories or articles."""
    require(user, Permission.KB_CATEGORIES)
    if db.session.scalar(select(Category.id).where(Category.parent_id == category.id)
                         .limit(1)) is not None:
        raise Conflict(_("Move or delete its subcategories first."))
    if db.session.scalar(select(Article.id).where(Article.category_id == category.id)
                         .limit(1)) is not None:
        raise Conflict(_("Move its articles to another category first."))
    db.session.delete(category)
    db.session.flush()
