"""Console pages of an article's files: upload one, and read one back as staff."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, flash, redirect, url_for
from flask_babel import gettext as _

from knowledge_base import attachments
from knowledge_base.console import blueprint
from knowledge_base.console.common import editable, public_file_url, show_errors
from knowledge_base.console.writing import article_form, edit_data, form_page
from knowledge_base.forms import UploadForm
from knowledge_base.models import ArticleAttachment
from service.auth.permissions import Permission
from service.console.access import console_user, staff_required
from service.errors import Conflict, InvalidInput
from service.extensions import csrf, db
from tickets.upload_forms import read_upload_form


@blueprint.post("/articles/<id:article_id>/files")
@staff_required(Permission.KB_WRITE)
def upload(article_id: int):
    """Add a file to an article; the page shows the Markdown to paste for an image."""
    user = console_user()
    form, valid = read_upload_form(UploadForm, 1)
    article = editable(user, article_id)
    edit_form = article_form(True, formdata=None, data=edit_data(article))
    if not valid:
        db.session.rollback()
        return form_page(edit_form, article.kind, article, 413 if valid is None else 400,
                         upload_form=form)
    storage = form.file.data
    try:
        attachment = attachments.add_attachment(user, article, storage.filename or None,
                                                storage.read(), storage.mimetype or None)
    except (InvalidInput, Conflict) as error:
        db.session.rollback()
        status = show_errors(form, error)
        if form.form_errors and not form.file.errors:
            form.file.errors = list(form.form_errors)
            form.form_errors.clear()
        return form_page(edit_form, article.kind, editable(user, article_id), status,
                         upload_form=form)
    db.session.commit()
    flash(_("File added. Paste %(snippet)s into the text to show it.",
            snippet=_snippet(article.id, attachment)), "success")
    return redirect(url_for(".edit", article_id=article_id, _anchor="files"), 303)


csrf.exempt(upload)  # its form checks the token once the larger body limit is set


def _snippet(article_id: int, attachment: ArticleAttachment) -> str:
    url = public_file_url(article_id, attachment.id)
    prefix = "!" if attachment.content_type.startswith("image/") else ""
    return f"{prefix}[{attachment.filename}]({url})"


@blueprint.get("/articles/<id:article_id>/files/<id:attachment_id>")
@staff_required(Permission.KB_VIEW)
def file(article_id: int, attachment_id: int):
    """An article's file for staff: images inline, everything else as a download."""
    attachment = attachments.attachment_for(console_user(), article_id, attachment_id)
    # SVG may carry scripts: only raster images are shown inline.
    inline = (attachment.content_type.startswith("image/")
              and attachment.content_type != "image/svg+xml")
    ascii_name = attachment.filename.encode("ascii", "replace").decode().replace('"', "_")
    return Response(attachment.data, headers={
        "Content-Type": attachment.content_type,
        "Content-Disposition": (f'{"inline" if inline else "attachment"}; '
                                f'filename="{ascii_name}"; '
                                f"filename*=UTF-8''{quote(attachment.filename)}"),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store"})
