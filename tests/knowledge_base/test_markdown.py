"""Markdown rendering: what the allow-list keeps, what it removes, sections, plain text."""
from __future__ import annotations

import re

import pytest
from markupsafe import Markup

from knowledge_base.markdown import plain_text, render, render_article
from knowledge_base.models import ArticleKind, ArticleVersion


@pytest.fixture(autouse=True)
def _context(app):
    """Labels are lazy translations: they need an app context."""


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<iframe src='https://evil.example'></iframe>",
    "<style>body{display:none}</style>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<p onclick='alert(1)'>x</p>",
    "<a href='javascript:alert(1)'>x</a>",
    "<a href='JAVASCRIPT:alert(1)'>x</a>",
    "<a href='  javascript:alert(1)'>x</a>",
    "<a href='jav&#x09;ascript:alert(1)'>x</a>",
    "<a href='jav&#x0A;ascript:alert(1)'>x</a>",
    "<a href='&#106;avascript:alert(1)'>x</a>",
    "<a href='data:text/html;base64,PHNjcmlwdD4='>x</a>",
    "<a href='vbscript:msgbox(1)'>x</a>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "![x](javascript:alert(1))",
    "<object data='x.swf'></object><embed src='x.swf'>",
    "<form action='/x'><input name=a></form>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
])
def test_dangerous_markup_is_removed(source):
    html = str(render(source)).lower()
    for tag in ("<script", "<iframe", "<style", "<svg", "<object", "<embed", "<form",
                "<input", "<math"):
        assert tag not in html, (tag, html)
    assert not re.search(r"\son[a-z]+\s*=", html), html  # no event handler attribute
    for url in re.findall(r"(?:href|src)\s*=\s*\"([^\"]*)\"", html):
        assert not re.match(r"\s*(javascript|vbscript|data):", url), html
    assert "alert(1)</" not in html  # no script body left behind


def test_links_get_rel_and_keep_safe_urls():
    html = str(render('[docs](https://example.com/a "Docs") [mail](mailto:help@example.com) '
                      "[file](/help/articles/3/files/4)"))
    assert '<a href="https://example.com/a" title="Docs" rel="nofollow noopener noreferrer">' \
        in html
    assert 'href="mailto:help@example.com"' in html
    assert 'href="/help/articles/3/files/4"' in html
    assert html.count('rel="nofollow noopener noreferrer"') == 3


def test_images_are_kept_without_handlers():
    html = str(render('![Export dialog](/help/articles/1/files/2 "Dialog")\n\n'
                      '<img src="/help/articles/1/files/3" width="200" height="100" '
                      'onerror="x()" style="position:fixed" alt="b">'))
    assert '<img src="/help/articles/1/files/2" alt="Export dialog" title="Dialog">' in html
    assert 'width="200"' in html and 'height="100"' in html
    assert "onerror" not in html and "style" not in html


def test_tables_with_alignment():
    html = str(render("| Plan | Price |\n|:--|--:|\n| Basic | ¥99 |"))
    assert "<table>" in html and "<thead>" in html and "<tbody>" in html
    assert '<th style="text-align:left">Plan</th>' in html
    assert '<td style="text-align:right">¥99</td>' in html


def test_style_keeps_only_text_alignment():
    html = str(render('<table><tr><td style="text-align:center;color:red;'
                      'background:url(javascript:x)" align="right">x</td></tr></table>'))
    assert 'style="text-align:center"' in html and 'align="right"' in html
    assert "color" not in html and "url(" not in html


def test_code_blocks_keep_known_languages_only():
    html = str(render('```python\nprint("<b>")\n```\n\n```evil" onclick="x\nboom\n```'))
    assert '<pre><code class="language-python">print("&lt;b&gt;")' in html
    assert "evil" not in html and "onclick" not in html
    assert "boom" in html


def test_formatting_tags_kept():
    html = str(render("**b** *i* ~~gone~~ `code` <kbd>Ctrl</kbd> x<sup>2</sup> H<sub>2</sub>O\n"
                      "\n> quote\n\n- one\n- two\n\n---\n\n## Heading"))
    for fragment in ("<strong>b</strong>", "<em>i</em>", "<s>gone</s>", "<code>code</code>",
                     "<kbd>Ctrl</kbd>", "<sup>2</sup>", "<sub>2</sub>", "<blockquote>",
                     "<ul>", "<li>one</li>", "<hr>", "<h2>Heading</h2>"):
        assert fragment in html


def test_raw_html_unknown_tags_are_unwrapped_and_text_escaped():
    html = str(render('<div class="x"><span>inside</span></div>\n\n1 < 2 & "q"'))
    assert "<div" not in html and "<span" not in html and "inside" in html
    assert "1 &lt; 2 &amp;" in html


def test_render_returns_markup_and_handles_empty():
    assert isinstance(render("x"), Markup)
    assert render("") == "" and render(None) == ""


def test_render_article_sections_then_body():
    version = ArticleVersion(kind=ArticleKind.TROUBLESHOOTING, body="See also **this**.",
                             sections={"symptoms": "It <script>x()</script>hangs",
                                       "cause": "  ", "steps": "1. Restart"})
    html = str(render_article(version))
    assert html.index("<h2>Symptoms</h2>") < html.index("<h2>Steps</h2>") \
        < html.index("<strong>this</strong>")
    assert "Cause" not in html and "<script" not in html
    custom = str(render_article(version, headings={"symptoms": "症状 <b>"}))
    assert "<h2>症状 &lt;b&gt;</h2>" in custom


def test_render_article_howto_is_just_the_body():
    version = ArticleVersion(kind=ArticleKind.HOWTO, body="Hello", sections={})
    assert str(render_article(version)) == '<div class="kb-body"><p>Hello</p>\n</div>'


def test_plain_text():
    text = plain_text("# 如何申请退款\n\n在**账单**页面点击 `申请退款`。\n\n"
                      "| a | b |\n|--|--|\n| 1 | 2 |\n\n"
                      "```\ncode line\n```\n\n"
                      "<div>raw <b>html</b><script>evil()</script></div>\n\n"
                      "![screenshot](/x.png) [link](https://example.com)")
    assert text.splitlines() == ["如何申请退款", "在账单页面点击 申请退款。", "a b", "1 2",
                                 "code line", "raw html", "screenshot link"]
    assert plain_text("") == "" and plain_text(None) == ""
    assert plain_text("a &amp; b") == "a & b"


def test_section_headings_are_in_the_articles_language(app):
    chinese = ArticleVersion(kind=ArticleKind.TROUBLESHOOTING, language="zh", body="",
                             sections={"symptoms": "打印机卡纸。", "steps": "打开盖子。"})
    english = ArticleVersion(kind=ArticleKind.TROUBLESHOOTING, language="en", body="",
                             sections={"symptoms": "It jams."})
    with app.test_request_context("/?lang=en"):
        assert "<h2>症状</h2>" in render_article(chinese)
        assert "<h2>步骤</h2>" in render_article(chinese)
    with app.test_request_context("/?lang=zh_CN"):
        assert "<h2>Symptoms</h2>" in render_article(english)
        assert "<h2>Overrides</h2>" in render_article(english, headings={"symptoms": "Overrides"})
