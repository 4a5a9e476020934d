"""One gate every console page goes through: signed in, a staff role, the permission."""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import redirect, request, url_for
from flask_login import current_user

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.errors import Forbidden


def console_user() -> User:
    """The signed-in staff user of this console request."""
    return current_user._get_current_object()


def staff_required(permission: Permission | None = None) -> Callable:
    """Decorate a console view: sign-in page when signed out, 403 without the permission."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                target = request.full_path if request.method == "GET" else request.path
                return redirect(url_for("auth.login", next=target.rstrip("?")))
            user = console_user()
            if not can(user, Permission.CONSOLE) or (permission and not can(user, permission)):
                raise Forbidden("Your role may not open this page.")
            return view(*args, **kwargs)

        return guarded

    return decorate
