"""Console pages of an article's versions: the list, one version and its diff, restore."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _

from knowledge_base import access, articles, markdown
from knowledge_base.console import blueprint
from knowledge_base.console.common import editable, render_page, users_by_id
from knowledge_base.forms import ActionForm
from knowledge_base.versions import diff_versions, get_version
from service.auth.permissions import Permission
from service.console.access import console_user, staff_required
from service.extensions import db


@blueprint.get("/articles/<id:article_id>/versions")
@staff_required(Permission.KB_VIEW)
def versions(article_id: int):
    """Every saved version, newest first."""
    article = access.visible_article(console_user(), article_id)
    rows = articles.versions(article)
    authors = users_by_id({version.author_id for version in rows})
    return render_page("versions.html", article=article, versions=rows, authors=authors)


@blueprint.get("/articles/<id:article_id>/versions/<id:number>")
@staff_required(Permission.KB_VIEW)
def version(article_id: int, number: int):
    """A version as it read, and what changed from the one before."""
    user = console_user()
    article = access.visible_article(user, article_id)
    snapshot = get_version(article, number)
    diff = diff_versions(get_version(article, number - 1), snapshot) if number > 1 else None
    return render_page("version.html", article=article, snapshot=snapshot,
                       body_html=markdown.render_article(snapshot), diff=diff,
                       may_edit=access.may_edit(user, article) and number != article.version,
                       action_form=ActionForm(formdata=None))


@blueprint.post("/articles/<id:article_id>/versions/<id:number>/restore")
@staff_required(Permission.KB_WRITE)
def restore(article_id: int, number: int):
    """Make an old version's content the current one (as a new version)."""
    user = console_user()
    article = editable(user, article_id)
    articles.restore_version(user, article, number)
    db.session.commit()
    flash(_("Version %(number)d restored as a new version.", number=number), "success")
    return redirect(url_for(".show", article_id=article_id), 303)
