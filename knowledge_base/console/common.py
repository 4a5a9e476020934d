"""What several console page groups share: rendering with the label tables, look-ups for
the pages, the editable-article check and service errors shown on a form."""
from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from knowledge_base import access, categories, markdown
from knowledge_base.forms import AUDIENCE_LABELS, LANGUAGE_LABELS
from knowledge_base.labels import KIND_LABELS, KNOWN_ISSUE_LABELS, STATUS_LABELS
from knowledge_base.models import Article, Category
from service.auth.models import User
from service.errors import DomainError, Forbidden
from service.extensions import db

NO_STORE = {"Cache-Control": "no-store"}
T = "knowledge_base/console/"


def ui_language() -> str:
    """The UI language as an article language: "zh" or "en"."""
    return "zh" if str(get_locale() or "en").startswith("zh") else "en"


def labels() -> dict[str, Any]:
    """The label tables every page of this blueprint uses."""
    return {"kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS,
            "audience_labels": AUDIENCE_LABELS, "language_labels": LANGUAGE_LABELS,
            "known_issue_labels": KNOWN_ISSUE_LABELS, "section_labels": markdown.SECTION_LABELS,
            "ui_language": ui_language()}


def render_page(template: str, status: int = 200, **context: Any):
    """A console page of this blueprint, never cached."""
    return render_template(T + template, **labels(), **context), status, NO_STORE


def categories_by_id() -> dict[int, Category]:
    """Every category by id."""
    # The tree is small (tens of rows): one query instead of one per article row.
    return {category.id: category for category in db.session.scalars(select(Category))}


def users_by_id(ids: set[int | None]) -> dict[int, User]:
    """The users with these ids (None ignored), in one query."""
    ids = {user_id for user_id in ids if user_id}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


def category_choices(exclude: int | None = None) -> list[tuple[str, str]]:
    """The category tree as indented select options, "No category" first."""
    language = ui_language()
    choices = [("", _("No category"))]
    for node in categories.category_tree():
        if node.category.id != exclude:
            choices.append((str(node.category.id),
                            "\u2003" * node.depth + node.category.name(language)))
    return choices


def editable(user: User, article_id: int) -> Article:
    """The article if the user may edit it now; NotFound or Forbidden otherwise."""
    article = access.visible_article(user, article_id)
    if not access.may_edit(user, article):
        raise Forbidden(_("Your role may not change this article in its current status."))
    return article


def public_file_url(article_id: int, attachment_id: int) -> str:
    """The help centre's address of an article's file."""
    # The Markdown refers to the public address (the help centre serves published files).
    return f"/help/articles/{article_id}/files/{attachment_id}"


def show_errors(form: Any, error: DomainError) -> int:
    """Each service message on the field it names (sections too), others on top."""
    for key, messages in (error.errors or {}).items():
        if isinstance(messages, dict):  # {"sections": {"steps": [...]}}
            for name, inner in messages.items():
                _field_error(form, f"{key}.{name}", inner)
        else:
            _field_error(form, key, messages)
    if not error.errors:
        form.form_errors.append(str(error.detail))
    return error.status


def _field_error(form: Any, key: str, messages: Any) -> None:
    texts = [str(message) for message in (messages if isinstance(messages, list)
                                          else [messages])]
    name = f"section_{key.split('.', 1)[1]}" if key.startswith("sections.") else key
    field = form._fields.get(name)
    if field is not None and field.type not in ("HiddenField", "CSRFTokenField"):
        field.errors = [*field.errors, *texts]
    else:
        form.form_errors.extend(texts)
