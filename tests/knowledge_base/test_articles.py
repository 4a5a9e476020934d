"""Articles: create/update and versions, validation, permissions, the status flow, restore,
diffs, translations, lists and who may see what."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from knowledge_base import articles
from knowledge_base.access import may_edit, may_see, visible_article
from knowledge_base.articles import (create_article, list_articles, restore_version,
                                     review_queue, set_status, translations, update_article,
                                     version_diff, versions)
from knowledge_base.categories import create_category
from knowledge_base.models import (Article, ArticleKind, ArticleStatus, ArticleVersion,
                                   Audience, KnownIssueStatus)
from service.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from service.extensions import db


@pytest.fixture
def admin(make_user):
    return make_user("admin")


@pytest.fixture
def agent(make_user):
    return make_user("agent")


@pytest.fixture
def make_article(admin):
    """make_article(user=admin, status=..., **fields) → a committed article."""

    def factory(user=None, status: ArticleStatus = ArticleStatus.DRAFT, **fields):
        data = {"title": "How to reset your password", "language": "en",
                "audience": "public", "body": "Open **Settings**."}
        data.update(fields)
        article = create_article(user or admin, data)
        if status == ArticleStatus.ARCHIVED:
            set_status(admin, article, ArticleStatus.PUBLISHED)
        if status != ArticleStatus.DRAFT:
            set_status(admin, article, status)
        db.session.commit()
        return article

    return factory


# ---- create, update, versions ----

def test_create_writes_a_draft_and_version_one(agent):
    article = create_article(agent, {
        "kind": "troubleshooting", "title": "  Export   times out ", "language": "en",
        "audience": "public", "summary": "Large exports stop.",
        "sections": {"symptoms": "Spinner forever", "steps": "1. Split the export"},
        "tags": [" Export", "export", "TIMEOUT", ""], "products": ["Reports", "Reports"],
    }, note="first draft")
    db.session.commit()
    assert article.status == ArticleStatus.DRAFT
    assert article.title == "Export times out"
    assert article.version == 1
    assert article.owner_id == agent.id and article.created_by_id == agent.id
    assert article.tags == ["export", "timeout"]
    assert article.product_names == ["Reports"]
    assert article.sections == {"symptoms": "Spinner forever", "cause": "",
                                "steps": "1. Split the export"}
    assert article.known_issue_status is None
    [version] = versions(article)
    assert (version.number, version.author_id, version.note) == (1, agent.id, "first draft")
    assert version.title == "Export times out" and version.products == ["Reports"]
    assert version.status == ArticleStatus.DRAFT


def test_known_issue_defaults_to_investigating(agent):
    article = create_article(agent, {"kind": "known_issue", "title": "Sync delayed",
                                     "language": "en", "products": ["Mobile"]})
    assert article.known_issue_status == KnownIssueStatus.INVESTIGATING


def test_language_defaults_to_the_authors(make_user):
    writer = make_user("agent", locale="zh_CN")
    article = create_article(writer, {"title": "如何申请退款"})
    assert article.language == "zh"
    assert article.audience == Audience.INTERNAL  # public only when someone chose it
    assert article.kind == ArticleKind.HOWTO


def test_update_numbers_versions_and_keeps_untouched_fields(make_article, agent):
    article = make_article(user=agent, tags=["a"])
    update_article(agent, article, {"title": "New title"}, note="clearer title")
    update_article(agent, article, {"body": "Changed body"})
    db.session.commit()
    assert article.version == 3
    assert [v.number for v in versions(article)] == [3, 2, 1]
    assert versions(article)[1].note == "clearer title"
    assert article.title == "New title" and article.tags == ["a"]
    assert versions(article)[0].title == "New title"
    assert versions(article)[0].body == "Changed body"


def test_owner_and_review_date_do_not_make_a_version(make_article, admin, agent):
    article = make_article(user=agent)
    update_article(agent, article, {"owner_id": admin.id, "review_by": date(2030, 1, 1)})
    update_article(agent, article, {"title": article.title})  # nothing really changed
    assert article.version == 1
    assert article.owner_id == admin.id and article.review_by == date(2030, 1, 1)
    assert db.session.query(ArticleVersion).count() == 1


def test_changing_kind_keeps_shared_sections(make_article, agent):
    article = make_article(user=agent, kind="troubleshooting",
                           sections={"symptoms": "It hangs", "cause": "A lock"})
    update_article(agent, article, {"kind": "known_issue"})
    assert article.sections == {"symptoms": "It hangs", "workaround": ""}
    assert article.known_issue_status == KnownIssueStatus.INVESTIGATING
    update_article(agent, article, {"kind": "howto"})
    assert article.sections == {} and article.known_issue_status is None
    # the lost cause is still in version 1
    assert versions(article)[-1].sections["cause"] == "A lock"


def test_products_are_replaced(make_article, agent):
    article = make_article(user=agent, products=["Cloud", "Mobile"])
    update_article(agent, article, {"products": ["Mobile", "Reports"]})
    db.session.commit()
    db.session.expire_all()
    assert article.product_names == ["Mobile", "Reports"]


def test_saves_and_status_changes_are_indexed(make_article, admin):
    from knowledge_base.search import SearchQuery, search

    def public_hits(text: str) -> list[int]:
        return [hit.article_id for hit in search(SearchQuery(text=text)).hits]

    article = make_article(title="Rotate the printer toner", status=ArticleStatus.PUBLISHED)
    assert public_hits("toner") == [article.id]
    update_article(admin, article, {"title": "Replace the printer cartridge"})
    assert public_hits("cartridge") == [article.id]
    assert public_hits("toner") == []
    set_status(admin, article, ArticleStatus.ARCHIVED)
    assert public_hits("cartridge") == []


# ---- validation ----

@pytest.mark.parametrize(("data", "field"), [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": 5}, "title"),
    ({"summary": "x" * 501}, "summary"),
    ({"kind": "essay"}, "kind"),
    ({"audience": "everyone"}, "audience"),
    ({"language": "fr"}, "language"),
    ({"kind": "howto", "sections": {"symptoms": "x"}}, "sections"),
    ({"kind": "troubleshooting", "sections": {"symptoms": "x", "colour": "red"}}, "sections"),
    ({"kind": "troubleshooting", "sections": {"symptoms": 3}}, "sections"),
    ({"kind": "troubleshooting", "sections": {"steps": "x" * 20_001}}, "sections"),
    ({"kind": "troubleshooting", "sections": "symptoms"}, "sections"),
    ({"kind": "howto", "known_issue_status": "fixed"}, "known_issue_status"),
    ({"kind": "known_issue", "known_issue_status": "solved"}, "known_issue_status"),
    ({"category_id": 999}, "category_id"),
    ({"category_id": "1"}, "category_id"),
    ({"tags": "a,b"}, "tags"),
    ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
    ({"tags": ["x" * 41]}, "tags"),
    ({"tags": [1]}, "tags"),
    ({"products": [f"P{i}" for i in range(21)]}, "products"),
    ({"products": ["x" * 101]}, "products"),
    ({"owner_id": 999}, "owner_id"),
    ({"review_by": "2030-01-01"}, "review_by"),
    ({"review_by": datetime(2030, 1, 1)}, "review_by"),
    ({"translation_of": 999}, "translation_of"),
    ({"colour": "red"}, "colour"),
])
def test_create_refuses_bad_fields(agent, data, field):
    payload = {"title": "Fine", "language": "en", **data}
    with pytest.raises(InvalidInput) as caught:
        create_article(agent, payload)
    assert field in caught.value.errors
    assert all(isinstance(message, str) and message for message in caught.value.errors[field])
    assert db.session.scalar(select(Article.id)) is None


def test_all_problems_are_reported_at_once(agent):
    with pytest.raises(InvalidInput) as caught:
        create_article(agent, {"title": "", "language": "xx", "kind": "essay",
                               "tags": "nope"})
    assert set(caught.value.errors) == {"title", "language", "kind", "tags"}


@pytest.mark.parametrize("who", ["partner", "inactive", "agent-but-inactive"])
def test_owner_must_be_active_staff(make_user, agent, who):
    owner = make_user("partner") if who == "partner" else make_user("agent", is_active=False)
    with pytest.raises(InvalidInput) as caught:
        create_article(agent, {"title": "T", "language": "en", "owner_id": owner.id})
    assert "owner_id" in caught.value.errors


def test_update_refuses_bad_fields_and_changes_nothing(make_article, agent):
    article = make_article(user=agent)
    with pytest.raises(InvalidInput) as caught:
        update_article(agent, article, {"title": "", "tags": ["ok"]})
    assert set(caught.value.errors) == {"title"}
    assert article.tags == [] and article.version == 1


def test_note_is_limited(agent):
    with pytest.raises(InvalidInput) as caught:
        create_article(agent, {"title": "T", "language": "en"}, note="n" * 301)
    assert "note" in caught.value.errors


# ---- permissions ----

def test_department_and_sales_cannot_write(make_user):
    for role in ("department", "sales", "partner"):
        with pytest.raises(Forbidden):
            create_article(make_user(role), {"title": "T", "language": "en"})


def test_agent_cannot_publish(make_article, agent):
    article = make_article(user=agent)
    set_status(agent, article, ArticleStatus.IN_REVIEW)
    with pytest.raises(Forbidden):
        set_status(agent, article, ArticleStatus.PUBLISHED)
    assert article.status == ArticleStatus.IN_REVIEW


def test_agent_cannot_edit_published(make_article, agent, make_user):
    article = make_article(status=ArticleStatus.PUBLISHED)
    assert not may_edit(agent, article)
    with pytest.raises(Forbidden):
        update_article(agent, article, {"title": "Sneaky"})
    with pytest.raises(Forbidden):
        restore_version(agent, article, 1)
    with pytest.raises(Forbidden):
        set_status(agent, article, ArticleStatus.ARCHIVED)
    lead = make_user("lead")
    update_article(lead, article, {"title": "Edited by a lead"})
    assert article.version == 2


def test_department_user_cannot_edit_a_draft(make_article, make_user):
    article = make_article()
    department = make_user("department")
    assert may_see(department, article)
    assert not may_edit(department, article)
    with pytest.raises(Forbidden):
        update_article(department, article, {"title": "x"})


# ---- status flow ----

def test_publish_sets_published_at_and_review_date(app, make_article, admin):
    article = make_article()
    set_status(admin, article, ArticleStatus.PUBLISHED)
    assert article.published_at is not None
    assert article.review_by == articles.business_today() + timedelta(
        days=app.config["KB_REVIEW_DAYS"])
    assert article.version == 1  # a status change is not a content version


def test_publish_keeps_a_chosen_review_date(make_article, admin):
    article = make_article(review_by=date(2031, 5, 1))
    set_status(admin, article, ArticleStatus.PUBLISHED)
    assert article.review_by == date(2031, 5, 1)


@pytest.mark.parametrize(("start", "target"), [
    (ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW),
    (ArticleStatus.IN_REVIEW, ArticleStatus.DRAFT),
    (ArticleStatus.DRAFT, ArticleStatus.PUBLISHED),
    (ArticleStatus.IN_REVIEW, ArticleStatus.PUBLISHED),
    (ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED),
    (ArticleStatus.PUBLISHED, ArticleStatus.DRAFT),
    (ArticleStatus.ARCHIVED, ArticleStatus.DRAFT),
])
def test_allowed_transitions(make_article, admin, start, target):
    article = make_article(status=start)
    set_status(admin, article, target)
    assert article.status == target


@pytest.mark.parametrize(("start", "target"), [
    (ArticleStatus.DRAFT, ArticleStatus.ARCHIVED),
    (ArticleStatus.IN_REVIEW, ArticleStatus.ARCHIVED),
    (ArticleStatus.PUBLISHED, ArticleStatus.IN_REVIEW),
    (ArticleStatus.ARCHIVED, ArticleStatus.PUBLISHED),
    (ArticleStatus.ARCHIVED, ArticleStatus.IN_REVIEW),
])
def test_refused_transitions(make_article, admin, start, target):
    article = make_article(status=start)
    with pytest.raises(InvalidTransition):
        set_status(admin, article, target)
    assert article.status == start


def test_same_status_is_a_no_op_and_bad_status_is_invalid(make_article, agent):
    article = make_article(user=agent)
    before = article.updated_at
    assert set_status(agent, article, ArticleStatus.DRAFT) is article
    assert article.updated_at == before
    with pytest.raises(InvalidInput):
        set_status(agent, article, "gone")


def test_agent_sends_for_review_and_withdraws(make_article, agent):
    article = make_article(user=agent)
    set_status(agent, article, ArticleStatus.IN_REVIEW)
    assert review_queue() == [article]
    set_status(agent, article, ArticleStatus.DRAFT)
    assert review_queue() == []


# ---- restore and diff ----

def test_restore_copies_content_into_a_new_version(make_article, agent):
    article = make_article(user=agent, kind="troubleshooting", tags=["one"],
                           sections={"symptoms": "Old symptom"}, products=["Cloud"])
    update_article(agent, article, {"title": "Second", "tags": ["two"], "products": [],
                                    "sections": {"symptoms": "New symptom"}})
    restore_version(agent, article, 1)
    db.session.commit()
    assert article.version == 3
    assert article.title == "How to reset your password"
    assert article.tags == ["one"] and article.product_names == ["Cloud"]
    assert article.sections["symptoms"] == "Old symptom"
    newest = versions(article)[0]
    assert (newest.number, newest.note, newest.author_id) == (3, "restored version 1", agent.id)
    with pytest.raises(NotFound):
        restore_version(agent, article, 9)


def test_diff_lists_changed_fields_only(make_article, agent):
    article = make_article(user=agent, kind="troubleshooting",
                           sections={"symptoms": "a\nb"}, body="line 1\nline 2", tags=["x"])
    update_article(agent, article, {"sections": {"symptoms": "a\nc"},
                                    "body": "line 1\nline 2\nline 3", "tags": ["x", "y"]})
    diff = version_diff(article, 1, 2)
    assert [section.field for section in diff] == ["sections.symptoms", "body", "tags"]
    symptoms = diff[0]
    assert str(symptoms.label) == "Symptoms"
    assert [(line.kind, line.text) for line in symptoms.lines] == [
        ("same", "a"), ("del", "b"), ("add", "c")]
    assert [(line.kind, line.text) for line in diff[1].lines][-1] == ("add", "line 3")
    assert [(line.kind, line.text) for line in diff[2].lines] == [("same", "x"), ("add", "y")]
    assert version_diff(article, 2, 2) == []
    with pytest.raises(NotFound):
        version_diff(article, 1, 5)


def test_diff_names_categories(make_article, admin, agent):
    billing = create_category(admin, {"slug": "billing", "name_en": "Billing",
                                      "name_zh": "账单"})
    article = make_article(user=agent)
    update_article(agent, article, {"category_id": billing.id})
    [section] = version_diff(article, 1, 2)
    assert section.field == "category"
    assert [(line.kind, line.text) for line in section.lines] == [("add", "Billing")]


# ---- translations ----

def test_translations_share_a_group(make_article, agent):
    english = make_article(user=agent)
    chinese = create_article(agent, {"title": "如何重置密码", "language": "zh",
                                     "translation_of": english.id})
    assert english.translation_group_id == english.id == chinese.translation_group_id
    assert translations(english) == [chinese]
    assert translations(chinese) == [english]
    with pytest.raises(Conflict):
        create_article(agent, {"title": "另一个翻译", "language": "zh",
                               "translation_of": english.id})
    with pytest.raises(InvalidInput) as caught:
        create_article(agent, {"title": "Same language", "language": "en",
                               "translation_of": english.id})
    assert "translation_of" in caught.value.errors


def test_translation_group_blocks_a_language_change(make_article, agent):
    english = make_article(user=agent)
    chinese = create_article(agent, {"title": "如何重置密码", "language": "zh",
                                     "translation_of": english.id})
    with pytest.raises(Conflict):
        update_article(agent, chinese, {"language": "en"})
    update_article(agent, chinese, {"translation_of": None})
    assert chinese.translation_group_id is None and translations(english) == []


# ---- lists ----

def test_list_filters_and_pages(make_article, admin, agent):
    parent = create_category(admin, {"slug": "account", "name_en": "Account",
                                     "name_zh": "账户"})
    child = create_category(admin, {"slug": "sign-in", "name_en": "Sign-in", "name_zh": "登录",
                                    "parent_id": parent.id})
    in_child = make_article(category_id=child.id, products=["Cloud"],
                            status=ArticleStatus.PUBLISHED)
    internal = make_article(audience="internal", status=ArticleStatus.PUBLISHED)
    draft = make_article(user=agent, language="zh", title="草稿")
    assert list_articles(category_id=parent.id)[0] == [in_child]
    assert list_articles(product="Cloud")[0] == [in_child]
    assert list_articles(public_only=True)[0] == [in_child]
    assert list_articles(statuses=["draft"])[0] == [draft]
    assert list_articles(language="zh")[0] == [draft]
    assert list_articles(audience="internal")[0] == [internal]
    assert list_articles(owner_id=agent.id)[0] == [draft]
    first, cursor = list_articles(limit=2)
    assert first == [draft, internal] and cursor
    rest, end = list_articles(limit=2, cursor=cursor)
    assert rest == [in_child] and end is None


def test_list_review_due(make_article, admin):
    due = make_article(review_by=date(2020, 1, 1), status=ArticleStatus.PUBLISHED)
    make_article(review_by=date(2999, 1, 1), status=ArticleStatus.PUBLISHED)
    make_article(review_by=date(2020, 1, 1))  # a draft is not "due"
    assert list_articles(review_due=True)[0] == [due]


@pytest.mark.parametrize("arguments", [
    {"limit": 0}, {"limit": 101}, {"statuses": ["nope"]}, {"language": "de"},
    {"audience": "all"}, {"kind": "essay"}, {"cursor": "garbage"},
])
def test_list_refuses_bad_arguments(arguments):
    with pytest.raises(InvalidInput):
        list_articles(**arguments)


# ---- who may see what ----

@pytest.mark.parametrize("status", list(ArticleStatus))
@pytest.mark.parametrize("audience", list(Audience))
def test_may_see_matrix(make_article, make_user, status, audience):
    article = make_article(status=status, audience=audience.value)
    public = status == ArticleStatus.PUBLISHED and audience == Audience.PUBLIC
    assert may_see(None, article) is public
    assert may_see(make_user("partner"), article) is public
    for role in ("admin", "lead", "agent", "department", "sales"):
        assert may_see(make_user(role), article) is True
    if public:
        assert visible_article(None, article.id) is article
    else:
        with pytest.raises(NotFound):
            visible_article(None, article.id)


def test_visible_article_missing_or_bad_id():
    for bad in (0, -1, 10**12, "1", None):
        with pytest.raises(NotFound):
            visible_article(None, bad)


# ---- PostgreSQL ----

@pytest.mark.integration
def test_create_update_restore_on_postgresql(pg_app, make_user):
    writer = make_user("lead")
    article = create_article(writer, {"title": "导出报表超时", "language": "zh",
                                      "kind": "troubleshooting", "audience": "public",
                                      "sections": {"symptoms": "导出一直转圈"},
                                      "tags": ["导出"], "products": ["Reports"]})
    update_article(writer, article, {"title": "导出大报表超时", "products": ["Reports", "Cloud"]})
    set_status(writer, article, ArticleStatus.PUBLISHED)
    restore_version(writer, article, 1)
    db.session.commit()
    db.session.expire_all()
    article = db.session.get(Article, article.id)
    assert (article.version, article.title) == (3, "导出报表超时")
    assert article.product_names == ["Reports"]
    assert article.status == ArticleStatus.PUBLISHED
    assert [v.note for v in versions(article)] == ["restored version 1", None, None]
    assert [section.field for section in version_diff(article, 1, 2)] == ["title", "products"]


# ---- demo ----

def test_demo_articles_load_once(make_user):
    from knowledge_base.demo import load_demo_articles
    from knowledge_base.search import SearchQuery, search

    admin = make_user("admin", email="admin@demo.loopdesk.dev")
    added = load_demo_articles()
    assert added == db.session.query(Article).count() >= 16
    assert load_demo_articles() == 0
    rows = list(db.session.scalars(select(Article)))
    assert {row.language for row in rows} == {"zh", "en"}
    assert sum(row.language == "zh" for row in rows) * 2 == len(rows)
    assert {row.kind for row in rows} == set(ArticleKind)
    assert [row.status for row in rows].count(ArticleStatus.IN_REVIEW) == 1
    assert [row.audience for row in rows].count(Audience.INTERNAL) == 1
    assert all(row.created_by_id == admin.id for row in rows)
    assert sum(bool(translations(row)) for row in rows) >= 6
    known = next(row for row in rows if row.kind == ArticleKind.KNOWN_ISSUE)
    assert known.known_issue_status and known.product_names
    assert {p for row in rows for p in row.product_names} <= {"Cloud", "Mobile", "Reports",
                                                               "Analytics"}
    refund = next(row for row in rows if row.title == "如何申请退款")
    assert refund.id in [hit.article_id for hit in search(SearchQuery(text="退款")).hits]
    export = next(row for row in rows if row.title == "导出报表超时")
    assert export.id in [hit.article_id for hit in search(SearchQuery(text="导出报表超时")).hits]


def test_update_changes_only_the_named_sections(make_article, agent):
    article = make_article(user=agent, kind="troubleshooting",
                           sections={"symptoms": "It hangs", "cause": "A lock"})
    update_article(agent, article, {"sections": {"steps": "Restart", "cause": ""}})
    assert article.sections == {"symptoms": "It hangs", "cause": "", "steps": "Restart"}
    with pytest.raises(InvalidInput):
        update_article(agent, article, {"kind": None})
    with pytest.raises(InvalidInput):
        update_article(agent, article, {"audience": None})
