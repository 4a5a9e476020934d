"""Console pages that write articles: pick a kind, new, edit and the live preview."""
from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from knowledge_base import access, articles, attachments, markdown
from knowledge_base.console import blueprint
from knowledge_base.console.common import (NO_STORE, category_choices, editable,
                                           public_file_url, render_page, show_errors,
                                           ui_language)
from knowledge_base.forms import ALL_SECTIONS, KIND_HINTS, ArticleForm, UploadForm
from knowledge_base.models import KIND_SECTIONS, Article, ArticleKind
from service.auth.models import User
from service.auth.permissions import ROLE_PERMISSIONS, Permission
from service.console.access import console_user, staff_required
from service.console.form_values import as_id
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from tickets.upload_forms import explain_expired_csrf

PREVIEW_MAX = 200_000


def _owner_choices(editing: bool) -> list[tuple[str, str]]:
    roles = ROLE_PERMISSIONS[Permission.KB_WRITE]
    rows = db.session.scalars(select(User).where(User.is_active.is_(True),
                                                 User.role.in_(roles)).order_by(User.name))
    blank = _("Nobody") if editing else _("Me (the author)")
    return [("", blank)] + [(str(user.id), user.name) for user in rows]


def article_form(editing: bool = False, **kwargs: Any) -> ArticleForm:
    """The article form with today's category and owner choices."""
    form = ArticleForm(**kwargs)
    form.category_id.choices = category_choices()
    form.owner_id.choices = _owner_choices(editing)
    return form


def _preview_html(kind: ArticleKind, form: ArticleForm | None = None,
                  values: dict[str, str] | None = None) -> str:
    """The sanitised rendering of unsaved text (a transient article, never added)."""
    read = (lambda name: form._fields[name].data or "") if form else \
        (lambda name: (values or {}).get(name, ""))
    draft = Article(kind=kind, body=read("body"), language=read("language"),
                    sections={name: read(f"section_{name}") for name in KIND_SECTIONS[kind]})
    return markdown.render_article(draft)


def form_page(form: ArticleForm, kind: ArticleKind, article: Article | None,
              status: int = 200, preview: str | None = None,
              upload_form: UploadForm | None = None):
    """The new/edit page: the form, the preview if asked, the files and the upload form."""
    files = attachments.attachments_of(article) if article else []
    return render_page("form.html", status, form=form, kind=kind, article=article, preview=preview,
                       section_fields=form.section_fields(kind), files=files,
                       upload_form=upload_form or UploadForm(formdata=None),
                       file_url=lambda attachment: public_file_url(article.id, attachment.id))


@blueprint.get("/articles/new")
@staff_required(Permission.KB_WRITE)
def new():
    """Pick a kind, then an empty form (prefilled from the original for a translation)."""
    user = console_user()
    original = None
    original_id = request.args.get("translation_of")
    if original_id:
        number = as_id(original_id)
        if number is None:
            raise NotFound(_("No such article."))
        original = access.visible_article(user, number)
    kind_value = request.args.get("kind") or (original.kind.value if original else None)
    if kind_value not in ArticleKind.__members__.values():
        return render_page("pick_kind.html", 400 if kind_value else 200, original=original,
                           kinds=list(ArticleKind), kind_hints=KIND_HINTS)
    kind = ArticleKind(kind_value)
    data: dict[str, Any] = {"kind": kind.value, "language": ui_language(), "audience": "public"}
    if original:
        data.update(translation_of=original.id,
                    language="en" if original.language == "zh" else "zh",
                    audience=original.audience.value, category_id=original.category_id,
                    tags=", ".join(original.tags or []),
                    products=", ".join(original.product_names))
    return form_page(article_form(formdata=None, data=data), kind, None)


@blueprint.post("/articles/new")
@staff_required(Permission.KB_WRITE)
def create():
    """Preview, or save a new draft (version 1) and open it."""
    user = console_user()
    form = article_form()
    if form.kind.data not in ArticleKind.__members__.values():
        raise InvalidInput(_("Choose what kind of article to write."))
    kind = ArticleKind(form.kind.data)
    if request.form.get("action") == "preview":
        return form_page(form, kind, None, preview=_preview_html(kind, form))
    if not form.validate():
        explain_expired_csrf(form)
        return form_page(form, kind, None, 400)
    data = form.article_data(kind)
    if form.translation_of.data:
        data["translation_of"] = form.translation_of.data
    try:
        article = articles.create_article(user, data, note=form.note.data or None)
    except (InvalidInput, Conflict) as error:
        db.session.rollback()
        return form_page(form, kind, None, show_errors(form, error))
    db.session.commit()
    flash(_("Draft saved. Send it for review when it is ready."), "success")
    return redirect(url_for(".show", article_id=article.id), 303)


def edit_data(article: Article) -> dict[str, Any]:
    """The edit form's values from the article as saved."""
    data = {"kind": article.kind.value, "title": article.title, "summary": article.summary,
            "body": article.body, "category_id": article.category_id,
            "tags": ", ".join(article.tags or []), "products": ", ".join(article.product_names),
            "language": article.language, "audience": article.audience.value,
            "owner_id": article.owner_id, "review_by": article.review_by,
            "known_issue_status": (article.known_issue_status.value
                                   if article.known_issue_status else "investigating")}
    for name in KIND_SECTIONS[article.kind]:
        data[f"section_{name}"] = (article.sections or {}).get(name, "")
    return data


@blueprint.route("/articles/<id:article_id>/edit", methods=["GET", "POST"])
@staff_required(Permission.KB_WRITE)
def edit(article_id: int):
    """Change an article the user may edit: a new version on each content change."""
    user = console_user()
    article = editable(user, article_id)
    if request.method == "GET":
        return form_page(article_form(True, formdata=None, data=edit_data(article)),
                         article.kind, article)
    form = article_form(True)
    if request.form.get("action") == "preview":
        return form_page(form, article.kind, article, preview=_preview_html(article.kind, form))
    if not form.validate():
        explain_expired_csrf(form)
        return form_page(form, article.kind, article, 400)
    changes = form.article_data(article.kind)
    changes.pop("kind")
    try:
        articles.update_article(user, article, changes, note=form.note.data or None)
    except (InvalidInput, Conflict) as error:
        db.session.rollback()
        return form_page(form, article.kind, editable(user, article_id),
                         show_errors(form, error))
    db.session.commit()
    flash(_("Article saved."), "success")
    return redirect(url_for(".show", article_id=article.id), 303)


@blueprint.post("/preview")
@staff_required(Permission.KB_WRITE)
def preview():
    """The live preview (kb.js): the sanitised HTML of the posted Markdown, as JSON."""
    kind_value = request.form.get("kind", "")
    if kind_value not in ArticleKind.__members__.values():
        message = _("Unknown kind of article.")
        raise InvalidInput(message, errors={"kind": [message]})
    values = {name: request.form.get(name, "") for name in
              ["body", *(f"section_{section}" for section in ALL_SECTIONS)]}
    if sum(len(value) for value in values.values()) > PREVIEW_MAX:
        raise InvalidInput(_("The text is too long to preview."))
    html = _preview_html(ArticleKind(kind_value), values=values)
    return jsonify({"html": str(html)}), 200, NO_STORE
