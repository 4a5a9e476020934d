"""Console pages of the category tree: list, add, edit (rename, move, reorder), delete."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from knowledge_base import categories
from knowledge_base.console import blueprint
from knowledge_base.console.common import category_choices, render_page, show_errors
from knowledge_base.forms import ActionForm, CategoryForm
from knowledge_base.models import Category
from service.auth.permissions import Permission
from service.console.access import console_user, staff_required
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from tickets.upload_forms import explain_expired_csrf


def _category_form(category: Category | None = None, **kwargs: Any) -> CategoryForm:
    form = CategoryForm(**kwargs)
    form.parent_id.choices = [("", _("None (top level)"))] + category_choices(
        exclude=category.id if category else None)[1:]
    return form


def _categories_page(form: CategoryForm, status: int = 200):
    return render_page("categories.html", status, tree=categories.category_tree(), form=form,
                       action_form=ActionForm(formdata=None))


@blueprint.get("/categories", endpoint="categories")
@staff_required(Permission.KB_CATEGORIES)
def categories_page():
    """The category tree with its article counts, and a form to add one."""
    return _categories_page(_category_form(formdata=None))


@blueprint.post("/categories")
@staff_required(Permission.KB_CATEGORIES)
def add_category():
    """Add a category."""
    form = _category_form()
    if not form.validate():
        explain_expired_csrf(form)
        return _categories_page(form, 400)
    try:
        categories.create_category(console_user(), form.category_data())
    except (InvalidInput, Conflict) as error:
        db.session.rollback()
        return _categories_page(form, show_errors(form, error))
    db.session.commit()
    flash(_("Category added."), "success")
    return redirect(url_for(".categories"), 303)


def _category(category_id: int) -> Category:
    category = db.session.get(Category, category_id)
    if category is None:
        raise NotFound(_("No such category."))
    return category


@blueprint.route("/categories/<id:category_id>/edit", methods=["GET", "POST"])
@staff_required(Permission.KB_CATEGORIES)
def edit_category(category_id: int):
    """Rename, move (another parent) or reorder (position) a category."""
    category = _category(category_id)
    if request.method == "GET":
        form = _category_form(category, formdata=None, obj=category)
        return render_page("category_form.html", category=category, form=form)
    form = _category_form(category)
    if not form.validate():
        explain_expired_csrf(form)
        return render_page("category_form.html", 400, category=category, form=form)
    try:
        categories.update_category(console_user(), category, form.category_data())
    except (InvalidInput, Conflict) as error:
        db.session.rollback()
        status = show_errors(form, error)
        return render_page("category_form.html", status, category=_category(category_id), form=form)
    db.session.commit()
    flash(_("Category saved."), "success")
    return redirect(url_for(".categories"), 303)


@blueprint.post("/categories/<id:category_id>/delete")
@staff_required(Permission.KB_CATEGORIES)
def delete_category(category_id: int):
    """Delete an empty category; one with articles or subcategories is refused."""
    category = _category(category_id)
    try:
        categories.delete_category(console_user(), category)
    except Conflict as error:
        db.session.rollback()
        flash(str(error.detail), "error")
        return redirect(url_for(".categories"), 303)
    db.session.commit()
    flash(_("Category deleted."), "success")
    return redirect(url_for(".categories"), 303)
