"""JSON for the API: timestamps as ISO 8601 with offset (as the marshmallow schemas dump)."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask.json.provider import DefaultJSONProvider


class ApiJSONProvider(DefaultJSONProvider):
    """Flask's provider, but datetimes in ISO 8601 rather than RFC 822, keys unsorted."""

    ensure_ascii = False  # Chinese text stays readable
    sort_keys = False

    @staticmethod
    def default(value: Any) -> Any:
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        if isinstance(value, enum.Enum):
            return value.value
        return DefaultJSONProvider.default(value)
