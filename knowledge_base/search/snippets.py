"""Highlighted titles and snippets for hits: escaped text, matches in <mark>, "…" where cut.

Built from plain text (the index's own text on SQLite, a quick Markdown strip on
PostgreSQL), never by rendering Markdown per hit.
"""
from __future__ import annotations

import re

from markupsafe import Markup, escape

SNIPPET_CHARS = 160
LEAD_CHARS = 50  # context kept before the first match

_FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"<[^>\n]{0,200}>")
_LINE_MARK = re.compile(r"^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+|\|)", re.MULTILINE)
_EMPHASIS = re.compile(r"[*_`~|]+")
_SPACE = re.compile(r"\s+")


def quick_plain(markdown: str | None, limit: int = 4000) -> str:
    """Markdown → rough plain text with a few regexes (snippets only: no parse, no render)."""
    text = (markdown or "")[:limit]
    for pattern, replacement in ((_FENCE, " "), (_IMAGE, r"\1"), (_LINK, r"\1"), (_TAG, " "),
                                 (_LINE_MARK, ""), (_EMPHASIS, "")):
        text = pattern.sub(replacement, text)
    return _SPACE.sub(" ", text).strip()


def _pattern(marks: list[str]) -> re.Pattern | None:
    marks = sorted({mark for mark in marks if mark}, key=len, reverse=True)
    if not marks:
        return None
    # A lookahead finds overlapping matches ("申请" and "请退" in "申请退款"); spans merge.
    return re.compile("(?=(" + "|".join(re.escape(mark) for mark in marks) + "))",
                      re.IGNORECASE)


def _spans(text: str, pattern: re.Pattern | None) -> list[tuple[int, int]]:
    if pattern is None:
        return []
    merged: list[list[int]] = []
    for match in pattern.finditer(text):
        start, end = match.start(1), match.end(1)
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _highlight(text: str, spans: list[tuple[int, int]], offset: int = 0) -> Markup:
    out, position = [], 0
    for start, end in spans:
        start, end = max(start - offset, 0), min(end - offset, len(text))
        if end <= position or start >= len(text):
            continue
        start = max(start, position)
        out.append(escape(text[position:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:end])
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def highlight(text: str, marks: list[str]) -> Markup:
    """The whole text, escaped, every match in <mark>."""
    return _highlight(text, _spans(text, _pattern(marks)))


def snippet(summary: str, body: str, marks: list[str]) -> Markup:
    """~160 chars of the summary or body around the first match (the summary's start when
    nothing matches), escaped, matches in <mark>, "…" where cut."""
    pattern = _pattern(marks)
    summary, body = _SPACE.sub(" ", summary or "").strip(), _SPACE.sub(" ", body or "").strip()
    for text in (summary, body):
        spans = _spans(text, pattern)
        if spans:
            return _window(text, spans, spans[0][0])
    text = summary or body
    return _window(text, [], 0)


def _window(text: str, spans: list[tuple[int, int]], first: int) -> Markup:
    start = max(0, first - LEAD_CHARS)
    if start and (space := text.rfind(" ", start - 15, start)) > 0:
        start = space + 1  # begin at a word when one is near
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text) and (space := text.rfind(" ", end - 20, end)) > start:
        end = space
    inside = [(s, e) for s, e in spans if s < end and e > start]
    html = _highlight(text[start:end], inside, offset=start)
    return Markup("").join([Markup("…") if start else Markup(""), html,
                            Markup("…") if end < len(text) else Markup("")])
