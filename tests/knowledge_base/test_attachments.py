"""Article files: sniffed types, the size limit, permissions and who may fetch them."""
from __future__ import annotations

import hashlib

import pytest

from knowledge_base.articles import create_article, set_status
from knowledge_base.attachments import add_attachment, attachment_for, attachments_of
from knowledge_base.models import ArticleStatus
from service.errors import Forbidden, InvalidInput, NotFound
from service.extensions import db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def small_limit(app):
    app.config["KB_ATTACHMENT_MAX_BYTES"] = 1024


@pytest.fixture
def admin(make_user):
    return make_user("admin")


@pytest.fixture
def make_article(admin):
    def factory(status: ArticleStatus = ArticleStatus.DRAFT, audience: str = "public"):
        article = create_article(admin, {"title": "With pictures", "language": "en",
                                         "audience": audience})
        if status != ArticleStatus.DRAFT:
            set_status(admin, article, status)
        db.session.commit()
        return article

    return factory


@pytest.mark.parametrize(("data", "expected"), [
    (PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp"),
    (PDF, "application/pdf"),
])
def test_allowed_types_are_sniffed(make_article, admin, data, expected):
    article = make_article()
    # The declared type is ignored: only the bytes count.
    attachment = add_attachment(admin, article, "../../etc/Screen shot<1>.bin", data,
                                "text/plain")
    db.session.commit()
    assert attachment.content_type == expected
    assert attachment.size == len(data)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert "/" not in attachment.filename and "<" not in attachment.filename
    assert attachment.uploaded_by_id == admin.id
    assert [row.id for row in attachments_of(article)] == [attachment.id]


@pytest.mark.parametrize(("data", "declared"), [
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/svg+xml"),
    (b"<html><script>alert(1)</script></html>", "image/png"),
    (b"just some text", "text/plain"),
    (b"PK\x03\x04" + b"\x00" * 64, "application/zip"),
    (b"MZ" + b"\x00" * 64, "image/png"),
])
def test_other_types_are_refused(make_article, admin, data, declared):
    article = make_article()
    with pytest.raises(InvalidInput) as caught:
        add_attachment(admin, article, "x.png", data, declared)
    assert "file" in caught.value.errors
    assert attachments_of(article) == []


def test_size_limit_and_empty_file(make_article, admin):
    article = make_article()
    add_attachment(admin, article, "ok.png", PNG + b"\x00" * (1024 - len(PNG)), None)
    with pytest.raises(InvalidInput) as caught:
        add_attachment(admin, article, "big.png", PNG + b"\x00" * 1024, "image/png")
    assert "1 KB" in caught.value.errors["file"][0]
    with pytest.raises(InvalidInput):
        add_attachment(admin, article, "empty.png", b"", "image/png")
    assert len(attachments_of(article)) == 1


def test_adding_needs_may_edit(make_article, make_user):
    draft = make_article()
    published = make_article(status=ArticleStatus.PUBLISHED)
    agent = make_user("agent")
    add_attachment(agent, draft, "a.png", PNG, None)
    with pytest.raises(Forbidden):
        add_attachment(agent, published, "a.png", PNG, None)
    with pytest.raises(Forbidden):
        add_attachment(make_user("department"), draft, "a.png", PNG, None)


@pytest.mark.parametrize(("status", "audience", "public"), [
    (ArticleStatus.PUBLISHED, "public", True),
    (ArticleStatus.PUBLISHED, "internal", False),
    (ArticleStatus.DRAFT, "public", False),
    (ArticleStatus.IN_REVIEW, "public", False),
    (ArticleStatus.ARCHIVED, "public", False),
])
def test_attachment_for_follows_the_articles_visibility(make_article, admin, make_user, status,
                                                        audience, public):
    article = make_article(audience=audience)
    attachment = add_attachment(admin, article, "a.png", PNG, None)
    if status == ArticleStatus.ARCHIVED:
        set_status(admin, article, ArticleStatus.PUBLISHED)
    set_status(admin, article, status)
    db.session.commit()
    staff = make_user("department")
    assert attachment_for(staff, article.id, attachment.id) is attachment
    if public:
        assert attachment_for(None, article.id, attachment.id) is attachment
    else:
        with pytest.raises(NotFound):
            attachment_for(None, article.id, attachment.id)


def test_attachment_must_belong_to_the_article(make_article, admin):
    first = make_article(status=ArticleStatus.PUBLISHED)
    second = make_article(status=ArticleStatus.PUBLISHED)
    attachment = add_attachment(admin, first, "a.png", PNG, None)
    db.session.commit()
    with pytest.raises(NotFound):
        attachment_for(None, second.id, attachment.id)
    for article_id, attachment_id in ((first.id, 999), (999, attachment.id), (first.id, "1"),
                                      (first.id, 0)):
        with pytest.raises(NotFound):
            attachment_for(admin, article_id, attachment_id)
