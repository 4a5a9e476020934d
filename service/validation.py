"""Small input checks shared by every boundary (API, forms, CLI)."""
from __future__ import annotations

import re

from service.errors import InvalidInput

# Deliberately simple: one @, no spaces or control characters, a dot in the domain.
_CHAR = r"[^@\s\x00-\x1f\x7f<>,;]"
_EMAIL = re.compile(rf"^{_CHAR}{{1,64}}@{_CHAR}{{1,189}}\.[^@\s\x00-\x1f\x7f<>,;.]{{2,63}}$")


def is_email(value: str) -> bool:
    """Whether the string looks like a deliverable email address."""
    return bool(_EMAIL.match(value or "")) and ".." not in value and len(value) <= 254


def normalize_email(value: str, field: str = "email") -> str:
    """Trim and lower-case an email address, or raise InvalidInput."""
    address = (value or "").strip().lower()
    if not is_email(address):
        raise InvalidInput(errors={field: ["Not a valid email address."]})
    return address


def strip_controls(value: str) -> str:
    """Remove control characters (keeping newlines and tabs) from user text."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value)


MAX_ID = 2**31 - 1  # the database's integer range; a larger id can only be "not found"


def is_id(value: object) -> bool:
    """Whether a value is a possible row id (a positive 32-bit integer)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
