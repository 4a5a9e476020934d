"""The absolute links in a survey mail: the survey (with a one-click score) and unsubscribe.

Links are built from BASE_URL, so a job with no request builds the same ones. Whatever
follows `/s/` is a customer's secret: staff views of stored mail show it as `/s/…`.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import current_app

from service.notify import redaction

# The token part of any survey link (the path segment after /s/), whatever its length.
TOKEN_IN_LINK = r"(/s/)[A-Za-z0-9_-]{16,}"
redaction.register(TOKEN_IN_LINK, r"\1…")


def _base() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def survey_url(token: str, score: int | None = None) -> str:
    """The survey page's absolute link; with `score`, that score is preselected."""
    url = f"{_base()}/s/{quote(token, safe='')}"
    return url if score is None else f"{url}?score={int(score)}"


def unsubscribe_url(token: str) -> str:
    """The absolute link that lets the contact stop all surveys."""
    return f"{_base()}/s/{quote(token, safe='')}/unsubscribe"
