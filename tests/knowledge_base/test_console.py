"""The knowledge-base console pages: who may open what, writing with errors shown and
nothing written, the review flow, versions, categories, numbers, files, CSRF and XSS."""
from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from knowledge_base import articles, categories
from knowledge_base.models import (Article, ArticleKind, ArticleStatus, ArticleVersion,
                                   Category, Search, SearchSource)
from service.extensions import db

# A 1×1 PNG (the attachments service sniffs the bytes).
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD"
                       "hgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.fixture
def world(make_user):
    agent, lead, sales = make_user("agent", name="Ana Agent"), make_user("lead"), \
        make_user("sales")
    printers = categories.create_category(lead, {"slug": "printers", "name_en": "Printers",
                                                 "name_zh": "打印机"})
    db.session.commit()
    return {"agent": agent, "lead": lead, "sales": sales, "category": printers}


def write(user, **fields) -> Article:
    data = {"kind": ArticleKind.HOWTO, "title": "Reset the printer", "language": "en",
            "audience": "public", "body": "Hold the **power** button."}
    data.update(fields)
    article = articles.create_article(user, data)
    db.session.commit()
    return article


def form_data(client, **fields) -> dict:
    data = {"csrf_token": client.csrf_token, "kind": "troubleshooting",
            "title": "Printer shows error 42", "summary": "When it jams.", "language": "en",
            "audience": "public", "tags": "printer, Jam", "products": "LaserJet 5",
            "section_symptoms": "Error 42 on the display.", "section_cause": "A paper jam.",
            "section_steps": "1. Open the tray\n2. Pull the paper", "body": "",
            "category_id": "", "owner_id": "", "review_by": "", "note": "first draft",
            "action": "save"}
    data.update(fields)
    return data


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---- who may open what ----

@pytest.mark.parametrize("role, allowed", [
    ("agent", {"/console/kb/articles", "/console/kb/articles/new"}),
    ("sales", {"/console/kb/articles"}),
    ("lead", {"/console/kb/articles", "/console/kb/articles/new", "/console/kb/review",
              "/console/kb/categories", "/console/kb/numbers"}),
])
def test_pages_by_role(client, console_login, make_user, world, role, allowed):
    console_login(client, make_user(role))
    for path in ("/console/kb/articles", "/console/kb/articles/new", "/console/kb/review",
                 "/console/kb/categories", "/console/kb/numbers", "/console/kb/numbers.json"):
        expected = 200 if path in allowed or (path.endswith(".json") and role == "lead") \
            else 403
        assert client.get(path).status_code == expected, path


def test_signed_out_goes_to_sign_in(client, world):
    response = client.get("/console/kb/articles")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_article_pages_render_for_every_staff_role(client, console_login, world):
    article = write(world["agent"])
    for role in ("agent", "sales", "lead"):
        console_login(client, world[role])
        for path in (f"/console/kb/articles/{article.id}",
                     f"/console/kb/articles/{article.id}/versions",
                     f"/console/kb/articles/{article.id}/versions/1"):
            assert client.get(path).status_code == 200, (role, path)
    assert client.get("/console/kb/articles/999999").status_code == 404
    assert client.get(f"/console/kb/articles/{article.id}/versions/9").status_code == 404


# ---- writing ----

def test_kind_is_chosen_first(client, console_login, world):
    console_login(client, world["agent"])
    html = client.get("/console/kb/articles/new").get_data(as_text=True)
    assert 'data-kind="troubleshooting"' in html and 'id="article-form"' not in html
    assert client.get("/console/kb/articles/new?kind=poem").status_code == 400
    form = client.get("/console/kb/articles/new?kind=troubleshooting").get_data(as_text=True)
    assert 'name="section_symptoms"' in form and 'name="section_workaround"' not in form
    assert "Symptoms" in form and 'name="known_issue_status"' not in form
    known = client.get("/console/kb/articles/new?kind=known_issue").get_data(as_text=True)
    assert 'name="known_issue_status"' in known and 'name="section_workaround"' in known


def test_create_with_errors_shows_them_and_writes_nothing(client, console_login, world):
    console_login(client, world["agent"])
    response = client.post("/console/kb/articles/new", data=form_data(client, title=""))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="title-error"' in html and "Give the article a title." in html
    assert "Error 42 on the display." in html  # what was written stays in the form
    response = client.post("/console/kb/articles/new", data=form_data(
        client, category_id="999999", tags=", ".join(f"tag{n}" for n in range(30))))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="category_id-error"' in html and 'id="tags-error"' in html
    for bad in ({"category_id": "abc"}, {"review_by": "2026-13-45"}, {"owner_id": "x"},
                {"language": "fr"}, {"audience": "everyone"}):
        assert client.post("/console/kb/articles/new",
                           data=form_data(client, **bad)).status_code == 400, bad
    assert client.post("/console/kb/articles/new",
                       data=form_data(client, kind="poem")).status_code == 400
    assert count(Article) == 0 and count(ArticleVersion) == 0


def test_preview_without_javascript_renders_on_the_page(client, console_login, world):
    console_login(client, world["agent"])
    response = client.post("/console/kb/articles/new", data=form_data(
        client, action="preview", body="| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>x()</script>"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<table>" in html and "<h2>Symptoms</h2>" in html and "<script>x()" not in html
    assert count(Article) == 0


def test_live_preview_json(client, console_login, world):
    console_login(client, world["agent"])
    headers = {"X-CSRFToken": client.csrf_token, "Accept": "application/json"}
    response = client.post("/console/kb/preview", headers=headers, data={
        "kind": "troubleshooting", "section_steps": "```\nreboot\n```",
        "body": "<img src=x onerror=alert(1)>"})
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert "<pre><code>reboot" in html and "onerror" not in html
    assert client.post("/console/kb/preview", headers=headers,
                       data={"kind": "poem"}).status_code == 400
    assert client.post("/console/kb/preview", data={"kind": "howto"}).status_code == 400
    console_login(client, world["sales"])
    assert client.post("/console/kb/preview", headers={"X-CSRFToken": client.csrf_token},
                       data={"kind": "howto"}).status_code == 403


def test_create_review_publish(client, console_login, world):
    console_login(client, world["agent"])
    response = client.post("/console/kb/articles/new", data=form_data(
        client, category_id=str(world["category"].id)))
    assert response.status_code == 303
    article = db.session.scalar(select(Article))
    assert response.headers["Location"].endswith(f"/console/kb/articles/{article.id}")
    assert article.status == ArticleStatus.DRAFT and article.owner_id == world["agent"].id
    assert article.sections["steps"].startswith("1. Open") and article.tags == ["printer", "jam"]
    assert article.product_names == ["LaserJet 5"]
    page = client.get(f"/console/kb/articles/{article.id}").get_data(as_text=True)
    assert 'data-action="in_review"' in page and 'data-action="published"' not in page
    assert "Printers" in page and "LaserJet 5" in page and "<h2>Cause</h2>" in page

    status_url = f"/console/kb/articles/{article.id}/status"
    response = client.post(status_url, data={"csrf_token": client.csrf_token,
                                              "status": "in_review"})
    assert response.status_code == 303
    db.session.refresh(article)
    assert article.status == ArticleStatus.IN_REVIEW
    # An agent may not publish: the button is not there and the service refuses.
    assert client.post(status_url, data={"csrf_token": client.csrf_token,
                                          "status": "published"}).status_code == 403
    assert client.post(status_url, data={"csrf_token": client.csrf_token,
                                          "status": "gone"}).status_code == 400

    console_login(client, world["lead"])
    review = client.get("/console/kb/review").get_data(as_text=True)
    assert f'id="waiting-{article.id}"' in review
    response = client.post(status_url, data={"csrf_token": client.csrf_token,
                                              "status": "published", "back": "review"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/review")
    db.session.refresh(article)
    assert article.status == ArticleStatus.PUBLISHED and article.review_by is not None
    page = client.get(f"/console/kb/articles/{article.id}").get_data(as_text=True)
    assert 'id="help-link"' in page and 'data-action="archived"' in page
    # A refused transition is flashed, not a crash (published → in review is not a step).
    response = client.post(status_url, data={"csrf_token": client.csrf_token,
                                              "status": "in_review"}, follow_redirects=True)
    assert response.status_code == 200 and "flash-error" in response.get_data(as_text=True)


def test_agent_may_not_edit_a_published_article(client, console_login, world):
    article = write(world["agent"])
    articles.set_status(world["lead"], article, ArticleStatus.PUBLISHED)
    db.session.commit()
    console_login(client, world["agent"])
    assert client.get(f"/console/kb/articles/{article.id}/edit").status_code == 403
    response = client.post(f"/console/kb/articles/{article.id}/edit",
                           data=form_data(client, kind="howto", title="Changed"))
    assert response.status_code == 403
    db.session.refresh(article)
    assert article.title == "Reset the printer"
    page = client.get(f"/console/kb/articles/{article.id}").get_data(as_text=True)
    assert 'id="edit-article"' not in page
    console_login(client, world["sales"])
    assert client.get(f"/console/kb/articles/{article.id}/edit").status_code == 403


def test_edit_with_errors_then_save_makes_a_version(client, console_login, world):
    article = write(world["agent"])
    console_login(client, world["agent"])
    url = f"/console/kb/articles/{article.id}/edit"
    form = client.get(url).get_data(as_text=True)
    assert 'value="Reset the printer"' in form
    bad = client.post(url, data=form_data(client, kind="howto", title="x" * 201))
    assert bad.status_code == 400
    db.session.refresh(article)
    assert article.version == 1
    good = client.post(url, data=form_data(client, kind="howto", title="Reset any printer",
                                           body="Unplug it.", note="simpler"))
    assert good.status_code == 303
    db.session.refresh(article)
    assert article.version == 2 and article.title == "Reset any printer"


def test_versions_diff_and_restore(client, console_login, world):
    article = write(world["agent"])
    articles.update_article(world["agent"], article, {"title": "Reset the printer safely",
                                                      "body": "Unplug it first."},
                            note="safer")
    db.session.commit()
    console_login(client, world["agent"])
    listing = client.get(f"/console/kb/articles/{article.id}/versions").get_data(as_text=True)
    assert 'id="version-1"' in listing and 'id="version-2"' in listing and "safer" in listing
    page = client.get(f"/console/kb/articles/{article.id}/versions/2").get_data(as_text=True)
    assert 'class="kb-diff-add"><span class="kb-diff-mark">+</span>' in page
    assert 'class="kb-diff-del"><span class="kb-diff-mark">−</span>' in page
    assert "added:" in page and "removed:" in page and "Unplug it first." in page
    first = client.get(f"/console/kb/articles/{article.id}/versions/1").get_data(as_text=True)
    assert 'id="restore-version"' in first
    response = client.post(f"/console/kb/articles/{article.id}/versions/1/restore",
                           data={"csrf_token": client.csrf_token})
    assert response.status_code == 303
    db.session.refresh(article)
    assert article.version == 3 and article.title == "Reset the printer"
    assert client.post(f"/console/kb/articles/{article.id}/versions/8/restore",
                       data={"csrf_token": client.csrf_token}).status_code == 404
    console_login(client, world["sales"])
    assert client.post(f"/console/kb/articles/{article.id}/versions/1/restore",
                       data={"csrf_token": client.csrf_token}).status_code == 403


def test_translation_preselects_the_other_language(client, console_login, world):
    article = write(world["agent"], category_id=world["category"].id, products=["LaserJet 5"])
    console_login(client, world["agent"])
    page = client.get(f"/console/kb/articles/{article.id}").get_data(as_text=True)
    assert f"translation_of={article.id}" in page
    form = client.get(f"/console/kb/articles/new?translation_of={article.id}")
    html = form.get_data(as_text=True)
    assert '<option value="zh" selected>' in html and 'value="LaserJet 5"' in html
    response = client.post("/console/kb/articles/new", data=form_data(
        client, kind="howto", language="zh", title="重置打印机",
        translation_of=str(article.id)))
    assert response.status_code == 303
    translation = db.session.scalar(select(Article).where(Article.language == "zh"))
    assert [other.id for other in articles.translations(translation)] == [article.id]
    assert client.get("/console/kb/articles/new?translation_of=abc").status_code == 404
    for bad in ("abc", "0", "99999999999", "999999"):  # a tampered hidden field: refused
        response = client.post("/console/kb/articles/new", data=form_data(
            client, kind="howto", language="zh", title="另一篇", translation_of=bad))
        assert response.status_code == 400, bad
        assert "No such article to translate." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Article)) == 2


# ---- the list and search ----

def test_list_filters_and_search(client, console_login, world):
    printer = write(world["agent"], title="Printer offline", body="The printer is offline.",
                    category_id=world["category"].id)
    write(world["lead"], title="VPN setup", body="Install the client.", language="zh")
    console_login(client, world["agent"])
    html = client.get("/console/kb/articles").get_data(as_text=True)
    assert "Printer offline" in html and "VPN setup" in html
    html = client.get("/console/kb/articles?language=zh").get_data(as_text=True)
    assert "Printer offline" not in html and "VPN setup" in html
    html = client.get("/console/kb/articles?mine=1").get_data(as_text=True)
    assert "Printer offline" in html and "VPN setup" not in html
    html = client.get(f"/console/kb/articles?category={world['category'].id}"
                      ).get_data(as_text=True)
    assert "Printer offline" in html and "VPN setup" not in html
    html = client.get("/console/kb/articles?q=printer&status=draft").get_data(as_text=True)
    assert f'id="article-{printer.id}"' in html and "<mark>" in html and "VPN" not in html
    recorded = db.session.scalars(select(Search)).all()
    assert [(row.query, row.source, row.results) for row in recorded] == [
        ("printer", SearchSource.CONSOLE, 1)]
    html = client.get("/console/kb/articles?q=printer&status=published").get_data(as_text=True)
    assert f'id="article-{printer.id}"' not in html
    for query in ("status=gone", "kind=poem", "language=fr", "category=x", "cursor=zzz",
                  "q=" + "a" * 201, "q=printer&page=0"):
        assert client.get(f"/console/kb/articles?{query}").status_code == 400, query


def test_review_due_shows_on_review_page(client, console_login, world):
    article = write(world["agent"], title="Old article")
    articles.set_status(world["lead"], article, ArticleStatus.PUBLISHED)
    article.review_by = articles.business_today() - timedelta(days=3)
    db.session.commit()
    console_login(client, world["lead"])
    assert f'id="due-{article.id}"' in client.get("/console/kb/review").get_data(as_text=True)
    page = client.get(f"/console/kb/articles/{article.id}").get_data(as_text=True)
    assert 'class="kb-review-past"' in page
    html = client.get("/console/kb/articles?review_due=1").get_data(as_text=True)
    assert f'id="article-{article.id}"' in html


# ---- categories ----

def test_category_crud(client, console_login, world):
    console_login(client, world["lead"])
    page = client.get("/console/kb/categories").get_data(as_text=True)
    assert "Printers" in page and "打印机" in page
    bad = client.post("/console/kb/categories", data={
        "csrf_token": client.csrf_token, "slug": "Bad Slug!", "name_en": "Ink",
        "name_zh": "墨水"})
    assert bad.status_code == 400 and 'id="slug-error"' in bad.get_data(as_text=True)
    assert client.post("/console/kb/categories", data={
        "csrf_token": client.csrf_token, "slug": "ink", "name_en": "", "name_zh": ""}
    ).status_code == 400
    assert count(Category) == 1
    added = client.post("/console/kb/categories", data={
        "csrf_token": client.csrf_token, "slug": "ink", "name_en": "Ink", "name_zh": "墨水",
        "parent_id": str(world["category"].id), "position": "2"})
    assert added.status_code == 303
    ink = db.session.scalar(select(Category).where(Category.slug == "ink"))
    assert ink.parent_id == world["category"].id and ink.position == 2

    edit = f"/console/kb/categories/{ink.id}/edit"
    assert 'value="Ink"' in client.get(edit).get_data(as_text=True)
    moved = client.post(edit, data={"csrf_token": client.csrf_token, "slug": "ink",
                                    "name_en": "Ink and toner", "name_zh": "墨水和碳粉",
                                    "parent_id": "", "position": "1"})
    assert moved.status_code == 303
    db.session.refresh(ink)
    assert ink.name_en == "Ink and toner" and ink.parent_id is None and ink.position == 1
    # Moving the printers under ink, then ink under printers, would be a cycle.
    client.post(f"/console/kb/categories/{world['category'].id}/edit", data={
        "csrf_token": client.csrf_token, "slug": "printers", "name_en": "Printers",
        "name_zh": "打印机", "parent_id": str(ink.id), "position": "0"})
    cycle = client.post(edit, data={"csrf_token": client.csrf_token, "slug": "ink",
                                    "name_en": "Ink", "name_zh": "墨水",
                                    "parent_id": str(world["category"].id), "position": "0"})
    assert cycle.status_code == 400
    assert client.post(edit, data={"csrf_token": client.csrf_token, "slug": "ink",
                                   "name_en": "Ink", "name_zh": "墨水",
                                   "position": "-3"}).status_code == 400

    refused = client.post(f"/console/kb/categories/{ink.id}/delete",
                          data={"csrf_token": client.csrf_token}, follow_redirects=True)
    assert "Move or delete its subcategories first." in refused.get_data(as_text=True)
    write(world["agent"], category_id=world["category"].id)
    refused = client.post(f"/console/kb/categories/{world['category'].id}/delete",
                          data={"csrf_token": client.csrf_token}, follow_redirects=True)
    assert "Move its articles to another category first." in refused.get_data(as_text=True)
    assert count(Category) == 2
    empty = categories.create_category(world["lead"], {"slug": "empty", "name_en": "Empty",
                                                       "name_zh": "空"})
    db.session.commit()
    assert client.post(f"/console/kb/categories/{empty.id}/delete",
                       data={"csrf_token": client.csrf_token}).status_code == 303
    assert db.session.get(Category, empty.id) is None
    assert client.get("/console/kb/categories/999999/edit").status_code == 404
    console_login(client, world["agent"])
    assert client.post(f"/console/kb/categories/{ink.id}/delete",
                       data={"csrf_token": client.csrf_token}).status_code == 403


# ---- numbers ----

def test_numbers_page_and_json(client, console_login, world):
    article = write(world["agent"], title="Popular article")
    articles.set_status(world["lead"], article, ArticleStatus.PUBLISHED)
    db.session.commit()
    from knowledge_base import searches, stats

    stats.record_view(article.id)
    searches.record_search("toner empty", SearchSource.HELP_CENTRE, language="en", results=0)
    db.session.commit()
    console_login(client, world["lead"])
    page = client.get("/console/kb/numbers?days=30")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "toner empty" in html and "Popular article" in html and 'id="kb-cards"' in html
    assert client.get("/console/kb/numbers").status_code == 200
    for days in ("5", "abc", "-30", "\u0663\u0660", "030"):  # ٣٠: digits, not ASCII
        assert client.get(f"/console/kb/numbers?days={days}").status_code == 400
    body = client.get("/console/kb/numbers.json?days=7").get_json()
    assert body["days"] == 7 and body["views"] == 1 and body["searches_without_result"] == 1
    assert body["content_gaps"][0]["query"] == "toner empty"
    assert body["top_articles"][0]["article_id"] == article.id


# ---- files ----

def test_files_upload_and_serve(client, console_login, world):
    article = write(world["agent"])
    console_login(client, world["agent"])
    url = f"/console/kb/articles/{article.id}/files"
    from io import BytesIO

    response = client.post(url, data={"csrf_token": client.csrf_token,
                                      "file": (BytesIO(PNG), "screen.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(f"/console/kb/articles/{article.id}/edit").get_data(as_text=True)
    attachment_id = page.split(f"/console/kb/articles/{article.id}/files/")[1].split('"')[0]
    assert f"![screen.png](/help/articles/{article.id}/files/{attachment_id})" in page
    served = client.get(f"/console/kb/articles/{article.id}/files/{attachment_id}")
    assert served.status_code == 200 and served.data == PNG
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("inline")
    pdf = client.post(url, data={"csrf_token": client.csrf_token,
                                 "file": (BytesIO(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n"), "a.pdf")},
                      content_type="multipart/form-data")
    assert pdf.status_code == 303
    bad = client.post(url, data={"csrf_token": client.csrf_token,
                                 "file": (BytesIO(b"<svg onload=alert(1)>"), "x.svg")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and 'id="file-error"' in bad.get_data(as_text=True)
    assert client.post(url, data={"csrf_token": client.csrf_token},
                       content_type="multipart/form-data").status_code == 400
    assert client.post(url, data={"file": (BytesIO(PNG), "a.png")},
                       content_type="multipart/form-data").status_code == 400
    assert client.get(f"/console/kb/articles/{article.id}/files/999").status_code == 404


# ---- CSRF and XSS ----

def test_forms_need_csrf(client, console_login, world):
    article = write(world["agent"])
    console_login(client, world["agent"])
    data = form_data(client)
    data.pop("csrf_token")
    assert client.post("/console/kb/articles/new", data=data).status_code == 400
    assert client.post(f"/console/kb/articles/{article.id}/status",
                       data={"status": "in_review"}).status_code == 400
    assert client.post(f"/console/kb/articles/{article.id}/versions/1/restore"
                       ).status_code == 400
    db.session.refresh(article)
    assert count(Article) == 1 and article.status == ArticleStatus.DRAFT
    console_login(client, world["lead"])
    assert client.post(f"/console/kb/categories/{world['category'].id}/delete"
                       ).status_code == 400
    assert db.session.get(Category, world["category"].id) is not None


def test_script_in_title_and_body_is_escaped(client, console_login, world):
    article = write(world["agent"], title="<script>alert('t')</script> printer",
                    summary="<b>bold</b>",
                    body="Hi <script>alert('b')</script><img src=x onerror=alert(2)>")
    console_login(client, world["agent"])
    for path in (f"/console/kb/articles/{article.id}", "/console/kb/articles",
                 "/console/kb/articles?q=printer", f"/console/kb/articles/{article.id}/versions/1",
                 f"/console/kb/articles/{article.id}/edit"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;" in html, path
    page = client.get(f"/console/kb/articles/{article.id}").get_data(as_text=True)
    assert "onerror" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page


# ---- PostgreSQL (its own search backend) ----

def test_write_list_and_search_on_postgres(pg_app, console_login, make_user):
    agent, lead = make_user("agent"), make_user("lead")
    client = pg_app.test_client()
    console_login(client, agent)
    response = client.post("/console/kb/articles/new", data=form_data(
        client, title="打印机显示错误 42", section_symptoms="屏幕显示 42。"))
    assert response.status_code == 303
    article = db.session.scalar(select(Article))
    assert client.post("/console/kb/articles/new",
                       data=form_data(client, title="")).status_code == 400
    assert count(Article) == 1
    html = client.get("/console/kb/articles?q=打印机").get_data(as_text=True)
    assert f'id="article-{article.id}"' in html and "<mark>" in html
    assert client.post(f"/console/kb/articles/{article.id}/status", data={
        "csrf_token": client.csrf_token, "status": "in_review"}).status_code == 303
    console_login(client, lead)
    assert f'id="waiting-{article.id}"' in client.get("/console/kb/review").get_data(
        as_text=True)
    assert client.get("/console/kb/numbers.json?days=90").get_json()["days"] == 90


def test_pages_render_in_chinese(client, console_login, make_user, world):
    lead = make_user("lead", locale="zh_CN")
    article = write(world["agent"], category_id=world["category"].id)
    console_login(client, lead)
    for path in ("/console/kb/articles", "/console/kb/articles?q=printer",
                 "/console/kb/articles/new", "/console/kb/articles/new?kind=known_issue",
                 f"/console/kb/articles/{article.id}", f"/console/kb/articles/{article.id}/edit",
                 f"/console/kb/articles/{article.id}/versions/1", "/console/kb/review",
                 "/console/kb/categories", "/console/kb/numbers?days=365"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'lang="zh-CN"' in response.get_data(as_text=True), path
    assert "打印机" in client.get(f"/console/kb/articles/{article.id}").get_data(as_text=True)
