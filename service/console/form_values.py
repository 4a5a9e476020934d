"""Reading console form values: cleaned text and row ids."""
from __future__ import annotations

from typing import Any

from service.validation import is_id, strip_controls


def clean(value: Any) -> Any:
    """Strip control characters and surrounding blanks from text input."""
    return strip_controls(value).strip() if isinstance(value, str) else value


def as_id(value: Any) -> int | None:
    """A row id written in ASCII digits, or None."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
        return number if is_id(number) else None
    return None
