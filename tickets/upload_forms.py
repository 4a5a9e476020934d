"""Forms of the console and the portal: the message for an expired form, and for forms
that carry files a larger body limit for that one request and one clear message when the
files are too large together."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import current_app, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.exceptions import RequestEntityTooLarge

from tickets.ticket_page import file_size

# Room for the form's other fields and the multipart framing around the files.
FORM_OVERHEAD_BYTES = 256 * 1024

FormT = TypeVar("FormT", bound=FlaskForm)


def explain_expired_csrf(form: FlaskForm) -> None:
    """Say in words why a form whose CSRF token was refused did not go through."""
    message = _("The form has expired. Reload the page and send it again.")
    if ("csrf_token" in form._fields and form.csrf_token.errors
            and message not in form.form_errors):
        form.form_errors.append(message)


def read_upload_form(make_form: Callable[..., FormT], max_files: int
                     ) -> tuple[FormT, bool | None]:
    """Build and validate a form carrying up to `max_files` files of ATTACHMENT_MAX_BYTES.

    Such files go beyond the app-wide request limit, so the limit is raised for this
    request; the view must be exempt from the global CSRF check (which would read the body
    under the app-wide limit) and checks the token through its form. Returns (form, valid),
    or (an empty form saying the files are too large together, None): answer that with 413.
    An invalid form whose CSRF token was refused already says so.
    """
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    request.max_content_length = limit * max_files + FORM_OVERHEAD_BYTES
    try:
        form = make_form()
        valid = form.validate()
    except RequestEntityTooLarge:
        form = make_form(formdata=None)
        form.form_errors.append(_("The files are too large together. Send at most "
                                  "%(count)s files of at most %(size)s each.",
                                  count=max_files, size=file_size(limit)))
        return form, None
    if not valid:
        explain_expired_csrf(form)
    return form, valid
