"""Email HTML: an allow-list sanitiser for showing it, and a plain-text rendering for reading.

What survives `sanitize_html`: basic formatting, headings, lists, tables, quotes, links to
http(s) and mailto (with rel="noopener noreferrer nofollow"), images whose src is `cid:` (a part
of the same mail) or https (remote; pass `remote_images=False` to drop them, e.g. to avoid
tracking pixels), and a few harmless inline style properties (colours, weight, alignment).
Everything else goes: script/style/head content, event handlers, iframes, forms, objects,
relative and javascript:/data: URLs, classes and ids.
"""
from __future__ import annotations

import re
from functools import partial
from html.parser import HTMLParser

import nh3

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
    "colgroup", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small", "span",
    "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "tt", "u", "ul",
})
_CELL = {"colspan", "rowspan", "align", "valign", "width"}
ALLOWED_ATTRIBUTES = {
    "*": {"dir", "lang", "title", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"border", "cellpadding", "cellspacing", "width", "align"},
    "td": _CELL,
    "th": _CELL,
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "ol": {"start"},
}
ALLOWED_STYLE_PROPERTIES = frozenset({
    "color", "background-color", "font-weight", "font-style", "text-decoration",
    "text-align", "vertical-align",
})
# Dropped together with everything inside them (the rest of unknown tags keep their text).
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "head", "title", "noscript", "template", "iframe", "object", "embed",
    "svg", "math", "select", "textarea",
})
LINK_SCHEMES = ("http:", "https:", "mailto:")


def _filter_attribute(tag: str, attribute: str, value: str, *,
                      remote_images: bool) -> str | None:
    """Keep a URL only with an allowed scheme; everything relative or odd is dropped."""
    # nh3 reports a raising filter through sys.unraisablehook: this one must never raise.
    if not isinstance(value, str):
        return None
    if attribute == "href":
        return value if value.strip().lower().startswith(LINK_SCHEMES) else None
    if attribute == "src":
        url = value.strip().lower()
        allowed = url.startswith("cid:") or (remote_images and url.startswith("https:"))
        return value if allowed else None
    return value


def sanitize_html(html: str, *, remote_images: bool = True) -> str:
    """The HTML reduced to the allow-list above: safe to show inside the console."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=partial(_filter_attribute, remote_images=remote_images),
        url_schemes={"http", "https", "mailto", "cid"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties=set(ALLOWED_STYLE_PROPERTIES),
        strip_comments=True,
    )


_LINE_TAGS = frozenset({"div", "li", "tr", "dt", "dd", "caption", "address", "center",
                        "figcaption", "header", "footer", "section", "article", "aside",
                        "nav", "main", "form", "fieldset", "legend", "summary", "details"})
_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol",
                             "dl", "table", "pre", "hr", "figure"})
_SKIPPED = DROPPED_WITH_CONTENT - {"head"}  # a missing </head> must not hide the whole body


class _TextRenderer(HTMLParser):
    """Collects text: blocks become line breaks, quotes get "> ", list items get "- "."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: list[str] = []
        self.in_head = False
        self.quote_depth = 0
        self.list_depth = 0
        self.pre_depth = 0

    def _tail(self) -> str:
        return self.out[-1][-2:] if self.out else ""

    def _break(self, lines: int) -> None:
        """End the current line, leaving at least `lines` - 1 blank lines (not at the start)."""
        if not self.out:
            return
        text = "".join(self.out[-3:])
        have = len(text) - len(text.rstrip("\n"))
        if have < lines:
            self.out.append("\n" * (lines - have))

    def _write(self, text: str) -> None:
        if not text:
            return
        at_line_start = not self.out or self._tail().endswith("\n")
        if at_line_start and self.quote_depth:
            self.out.append(">" * self.quote_depth + " ")
        self.out.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        elif tag == "body":
            self.in_head, self.skipping = False, []
        if tag in _SKIPPED:
            self.skipping.append(tag)
        if self.skipping or self.in_head:
            return
        if tag == "br":
            self.out.append("\n")
        elif tag in ("ul", "ol") and self.list_depth:
            self._break(1)  # a nested list continues its item
        elif tag in _PARAGRAPH_TAGS:
            self._break(2)
        elif tag in _LINE_TAGS:
            self._break(1)
        if tag == "blockquote":
            self.quote_depth += 1
        elif tag in ("ul", "ol"):
            self.list_depth += 1
        elif tag == "pre":
            self.pre_depth += 1
        elif tag == "li":
            self._write("  " * max(self.list_depth - 1, 0) + "- ")
        elif tag in ("td", "th") and self.out and not self._tail()[-1:].isspace():
            self._write(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
        if tag in _SKIPPED and tag in self.skipping:
            while self.skipping and self.skipping.pop() != tag:
                pass
            return
        if self.skipping or self.in_head:
            return
        if tag == "blockquote":
            self.quote_depth = max(self.quote_depth - 1, 0)
        elif tag in ("ul", "ol"):
            self.list_depth = max(self.list_depth - 1, 0)
        elif tag == "pre":
            self.pre_depth = max(self.pre_depth - 1, 0)
        if tag in _PARAGRAPH_TAGS and not (tag in ("ul", "ol") and self.list_depth):
            self._break(2)
        elif tag in _LINE_TAGS or tag in ("ul", "ol"):
            self._break(1)

    def handle_data(self, data: str) -> None:
        if self.skipping or self.in_head:
            return
        if self.pre_depth:
            for index, line in enumerate(data.split("\n")):
                if index:
                    self.out.append("\n")
                self._write(line)
            return
        text = re.sub(r"\s+", " ", data)
        if not self.out or self._tail()[-1:] in ("\n", " "):
            text = text.lstrip(" ")
        self._write(text)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML mail body (quotes as "> ", list items as "- ")."""
    renderer = _TextRenderer()
    try:
        renderer.feed(html)
        renderer.close()
    except Exception:  # html.parser is lenient; on the odd failure keep what was rendered
        pass
    lines = [line.rstrip() for line in "".join(renderer.out).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n").replace("\xa0", " ")
