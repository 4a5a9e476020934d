"""Article Markdown → safe HTML, and → plain text for the search index and snippets.

Every article, section and version is rendered through `render`: CommonMark plus tables
and strikethrough, raw HTML allowed in the source but passed through the nh3 (ammonia)
allow-list below, so scripts, frames, styles, event handlers and `javascript:` URLs never
reach a page whatever the author typed.
"""
from __future__ import annotations

from html import unescape
from typing import Protocol

import nh3
from flask import has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from knowledge_base.models import KIND_SECTIONS, ArticleKind
from service.i18n import locale_for

SECTION_LABELS = {
    "symptoms": _l("Symptoms"),
    "cause": _l("Cause"),
    "steps": _l("Steps"),
    "workaround": _l("Workaround"),
    "problem": _l("Problem"),
    "root_cause": _l("Root cause"),
    "fix": _l("Fix"),
    "prevention": _l("Prevention"),
}

# Fenced code blocks keep `class="language-xxx"` only for these (for a highlighter).
CODE_LANGUAGES = (
    "bash", "sh", "shell", "console", "powershell", "bat", "python", "javascript", "js",
    "typescript", "ts", "json", "yaml", "yml", "toml", "ini", "sql", "html", "xml", "css",
    "java", "kotlin", "swift", "go", "rust", "c", "cpp", "csharp", "php", "ruby", "diff",
    "http", "nginx", "dockerfile", "markdown", "text", "plaintext", "csv",
)

_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code",
    "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th",
    "td", "kbd", "sup", "sub",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    # Column alignment: markdown-it writes style="text-align:…"; only that property stays.
    "th": {"align", "style"},
    "td": {"align", "style"},
}
# Dropped together with everything inside them, not just unwrapped.
_DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "svg", "math",
                      "template", "noscript", "textarea", "select", "title", "frameset"}
_SCHEMES = {"http", "https", "mailto"}

_PARSER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        allowed_classes={"code": {f"language-{name}" for name in CODE_LANGUAGES}},
        filter_style_properties={"text-align"},
        strip_comments=True,
    )


def render(text: str | None) -> Markup:
    """Markdown (CommonMark + tables + strikethrough) as sanitised HTML."""
    if not text:
        return Markup("")
    return Markup(_sanitise(_PARSER.render(text)))


class _HasSections(Protocol):
    kind: ArticleKind
    sections: dict
    body: str
    language: str


def render_article(article: _HasSections, *,
                   headings: dict[str, str] | None = None) -> Markup:
    """An article's (or version's) non-empty sections, each under an <h2> with its label in
    the article's own language (a Chinese article reads "症状" whatever the page's
    language), then its body. `headings` overrides the labels."""
    parts: list[str] = []
    sections = article.sections or {}
    if headings is None and has_app_context():
        with force_locale(locale_for(getattr(article, "language", None))):
            headings = {key: str(label) for key, label in SECTION_LABELS.items()}
    for key in KIND_SECTIONS[ArticleKind(article.kind)]:
        text = sections.get(key) or ""
        if not text.strip():
            continue
        label = (headings or {}).get(key) or SECTION_LABELS[key]
        parts.append(f'<section class="kb-section kb-section-{key}">'
                     f"<h2>{escape(str(label))}</h2>{render(text)}</section>")
    if (article.body or "").strip():
        parts.append(f'<div class="kb-body">{render(article.body)}</div>')
    return Markup("".join(parts))


# Tokens whose closing ends a block of text: a line break in the plain text.
_BLOCK_ENDS = {"paragraph_close", "heading_close", "list_item_close", "tr_close",
               "blockquote_close"}


def plain_text(text: str | None) -> str:
    """Markdown as plain text (no markup, no raw HTML), one line per block: what the search
    index, snippets and excerpts use. Cheap: one parse, no HTML rendering."""
    if not text:
        return ""
    lines: list[str] = []
    current: list[str] = []

    def end_block() -> None:
        line = " ".join("".join(current).split())
        if line:
            lines.append(line)
        current.clear()

    for token in _PARSER.parse(text):
        if token.type == "inline":
            for child in token.children or ():
                if child.type in ("text", "code_inline"):
                    current.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    current.append(" ")
                elif child.type == "image":
                    current.append(child.content)  # the alt text
            current.append(" ")  # table cells and similar inline runs stay apart
        elif token.type in ("fence", "code_block"):
            end_block()
            lines.extend(line.strip() for line in token.content.splitlines() if line.strip())
        elif token.type == "html_block":
            end_block()
            stripped = unescape(nh3.clean(token.content, tags=set(),
                                          clean_content_tags=_DROP_WITH_CONTENT))
            current.append(stripped)
            end_block()
        elif token.type in _BLOCK_ENDS:
            end_block()
    end_block()
    return "\n".join(lines)
