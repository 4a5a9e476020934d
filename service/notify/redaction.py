"""Secret links (a customer's survey token…) kept out of mail bodies shown to staff.

The core cannot know every domain's link shapes, so each domain registers its own
pattern when its link module is imported; the admin mail views run every body through
`redact_links` before showing it.
"""
from __future__ import annotations

import re

from service import logs

_PATTERNS: list[tuple[re.Pattern[str], str]] = []


def register(pattern: str | re.Pattern[str], replacement: str) -> None:
    """Add a pattern whose matches `redact_links` replaces (`re.sub` replacement syntax)."""
    compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
    if all(existing.pattern != compiled.pattern for existing, _ in _PATTERNS):
        _PATTERNS.append((compiled, replacement))


def redact_links(text: str | None) -> str | None:
    """The text with every registered secret link part replaced (None stays None)."""
    if not text:
        return text
    # The customer links the core knows (portal sign-in, confirmation and ticket links,
    # survey links) are never shown to staff either.
    text = logs.redact(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
