"""Console pages of the knowledge base: articles (list, search, write, review, versions,
files), the category tree and the numbers. Thin: parse, call a service, render."""
from __future__ import annotations

from flask import Blueprint

# The templates stay in knowledge_base/templates/, shared with the help centre's pages.
blueprint = Blueprint("kb_console", __name__, url_prefix="/console/kb",
                      template_folder="../templates")

# Imported after the blueprint exists: each module adds its routes to it, so registering
# the blueprint registers every page.
from knowledge_base.console import (articles, categories, files, numbers,  # noqa: E402,F401
                                    versions, writing)
