"""Keyset (cursor) pagination shared by every list endpoint."""
from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select

from service.errors import InvalidInput
from service.validation import is_id
from service.extensions import db


def encode_cursor(sort: str, value: Any, last_id: int) -> str:
    """An opaque cursor pointing just past (value, id) in the given sort order."""
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort, value, last_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    """(value, id) of a cursor made for `sort`, or InvalidInput."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, last_id = json.loads(raw)
        if cursor_sort != sort or not is_id(last_id):
            raise ValueError
        return value, last_id
    except (ValueError, TypeError):
        raise InvalidInput(errors={"cursor": ["Invalid cursor for this list."]}) from None


def decode_time_cursor(cursor: str, sort: str) -> tuple[datetime, int]:
    """A cursor whose value is a timestamp."""
    value, last_id = decode_cursor(cursor, sort)
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(errors={"cursor": ["Invalid cursor for this list."]}) from None
    if moment.tzinfo is None:
        raise InvalidInput(errors={"cursor": ["Invalid cursor for this list."]})
    return moment, last_id


def id_page(query: Select, model: Any, limit: int, cursor: str | None) -> tuple[list, str | None]:
    """An oldest-first page of `query` keyed on the model's id."""
    if cursor:
        _, last_id = decode_cursor(cursor, "id")
        query = query.where(model.id > last_id)
    rows = list(db.session.scalars(query.order_by(model.id).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor("id", None, rows[-1].id)
