"""Putting a service's refusal (a DomainError) on a console form."""
from __future__ import annotations

from flask_wtf import FlaskForm

from service.errors import DomainError


def show_domain_error(form: FlaskForm, error: DomainError) -> int:
    """Show each message next to the field it names, others on top; returns the status."""
    shown = False
    for key, messages in (error.errors or {}).items():
        messages = messages if isinstance(messages, list) else [messages]
        field = form._fields.get(key)
        if field is not None:
            field.errors = [*field.errors, *(str(message) for message in messages)]
        else:
            form.form_errors.extend(str(message) for message in messages)
        shown = True
    if not shown:  # the services word their refusals for people (translated)
        form.form_errors.append(str(error.detail))
    return error.status
