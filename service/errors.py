"""Domain errors and the one problem+json shape (RFC 9457) the API answers with."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "https://loopdesk.dev/problems/"


class DomainError(Exception):
    """A business rule refused the request; carries the HTTP status it maps to."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str | None = None, errors: dict[str, Any] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors


class InvalidInput(DomainError):
    status, title, slug = 400, "Invalid input", "invalid-input"


class Unauthorized(DomainError):
    status, title, slug = 401, "Authentication required", "unauthorized"


class Forbidden(DomainError):
    status, title, slug = 403, "Not allowed", "forbidden"


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, slug = 409, "Conflict", "conflict"


class InvalidTransition(Conflict):
    title, slug = "Status change not allowed", "invalid-transition"


def problem(status: int, title: str, detail: str | None = None, *, slug: str | None = None,
            errors: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """Build an application/problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + (slug or str(status)),
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _wants_problem() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best in {
        "application/json", "application/problem+json"}


def _error_page(status: int, title: str, detail: str):
    # Console pages keep the console's layout (navigation, language) around the error.
    template = "console/error.html" if request.path.startswith("/console") else "error.html"
    return render_template(template, status=status, title=title, detail=detail), status


def register_error_handlers(app: Flask) -> None:
    """Map domain, validation and HTTP errors to problem+json (API) or HTML pages."""

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        if _wants_problem():
            return problem(error.status, error.title, error.detail, slug=error.slug,
                           errors=error.errors, headers=headers)
        return _error_page(error.status, error.title, error.detail)

    @app.errorhandler(ValidationError)
    def _validation(error: ValidationError):
        messages = (error.messages if isinstance(error.messages, dict)
                    else {"_schema": error.messages})
        return problem(400, "Invalid input", "The request has invalid fields.",
                       slug="invalid-input", errors=messages)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if _wants_problem():
            headers = {}
            if error.code == 429:
                retry = error.get_response().headers.get("Retry-After")
                if retry:
                    headers["Retry-After"] = retry
            return problem(error.code or 500, error.name, error.description, headers=headers)
        return _error_page(error.code or 500, error.name, error.description)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_problem():
            return problem(500, "Internal error", "Something went wrong on our side.")
        try:
            return _error_page(500, "Internal error", "")
        except Exception:  # the layout itself failed (e.g. the database is down)
            return render_template("error.html", status=500, title="Internal error",
                                   detail=""), 500
