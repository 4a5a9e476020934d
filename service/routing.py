"""URL converters."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

from service.validation import MAX_ID


class IdConverter(IntegerConverter):
    """A row id in a URL: 1 to 2**31 - 1; anything else is a 404, never a database error."""

    def __init__(self, url_map, **kwargs):
        super().__init__(url_map, min=1, max=MAX_ID, **kwargs)
