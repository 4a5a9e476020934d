"""The widget script customers embed, and a demo page that embeds it on our own origin."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, render_template, request

blueprint = Blueprint("chat", __name__, template_folder="templates")

_STATIC = Path(__file__).resolve().parent / "static"
# Customers embed one fixed URL, so a day's cache (then a cheap ETag revalidation)
# rather than "immutable": a new widget reaches every site within a day.
_WIDGET_MAX_AGE = 86400


@blueprint.get("/chat/widget.js")
def widget_js():
    """The chat widget (vanilla JavaScript, no external assets)."""
    path = _STATIC / "widget.js"
    body, digest = _widget(path.stat().st_mtime_ns)
    response = Response(body, mimetype="text/javascript")
    # A content hash, so every web process (and every deploy of the same file) agrees.
    response.set_etag(digest)
    response.cache_control.public = True
    response.cache_control.max_age = _WIDGET_MAX_AGE
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Loaded by <script> on customers' sites, including ones isolating their embedder.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response.make_conditional(request)


@lru_cache(maxsize=2)
def _widget(mtime_ns: int) -> tuple[bytes, str]:
    """The script and its digest, read once per version of the file (keyed by mtime)."""
    body = (_STATIC / "widget.js").read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:32]


@blueprint.get("/chat/demo")
def demo():
    """A page with the widget, to try the chat locally (`make run`)."""
    return render_template("chat/demo.html")
