"""Categories: the tree, validation, cycles, deletion rules and permissions."""
from __future__ import annotations

import pytest

from knowledge_base.articles import create_article, set_status
from knowledge_base.categories import (category_tree, create_category, delete_category,
                                       descendant_ids, update_category)
from knowledge_base.models import ArticleStatus, Category
from service.errors import Conflict, Forbidden, InvalidInput
from service.extensions import db


@pytest.fixture
def lead(make_user):
    return make_user("lead")


@pytest.fixture
def make_category(lead):
    def factory(slug: str, parent: Category | None = None, position: int = 0) -> Category:
        category = create_category(lead, {
            "slug": slug, "name_en": slug.title(), "name_zh": f"分类 {slug}",
            "parent_id": parent.id if parent else None, "position": position})
        db.session.commit()
        return category

    return factory


def test_tree_is_pre_order_with_depth_and_counts(make_category, lead):
    billing = make_category("billing", position=2)
    account = make_category("account", position=1)
    sign_in = make_category("sign-in", parent=account)
    passwords = make_category("passwords", parent=sign_in)
    mobile = make_category("mobile", parent=account, position=-1)
    for category, status in ((passwords, ArticleStatus.PUBLISHED),
                             (passwords, ArticleStatus.DRAFT),
                             (account, ArticleStatus.PUBLISHED)):
        article = create_article(lead, {"title": "T", "language": "en", "audience": "public",
                                        "category_id": category.id})
        set_status(lead, article, status)
    db.session.commit()
    tree = category_tree()
    assert [(node.category.slug, node.depth) for node in tree] == [
        ("account", 0), ("mobile", 1), ("sign-in", 1), ("passwords", 2), ("billing", 0)]
    counts = {node.category.slug: node.article_count for node in tree}
    assert counts == {"account": 3, "mobile": 0, "sign-in": 2, "passwords": 2, "billing": 0}
    public = {node.category.slug: node.article_count for node in category_tree(public_only=True)}
    assert public["account"] == 2 and public["passwords"] == 1
    assert [child.category.slug for child in tree[0].children] == ["mobile", "sign-in"]
    assert set(descendant_ids(account.id)) == {account.id, sign_in.id, passwords.id, mobile.id}
    assert descendant_ids(billing.id) == [billing.id]


def test_create_normalises_and_reports_every_problem(lead, make_category):
    make_category("billing")
    category = create_category(lead, {"slug": " Refunds ", "name_en": " Refunds  and  more ",
                                      "name_zh": "退款", "description_en": "  ",
                                      "description_zh": "关于退款"})
    assert category.slug == "refunds" and category.name_en == "Refunds and more"
    assert category.description_en is None and category.description_zh == "关于退款"
    with pytest.raises(InvalidInput) as caught:
        create_category(lead, {"slug": "billing", "name_en": "", "name_zh": "x" * 121,
                               "parent_id": 999, "position": "1", "colour": "red"})
    assert set(caught.value.errors) == {"slug", "name_en", "name_zh", "parent_id", "position",
                                        "colour"}


@pytest.mark.parametrize("slug", ["", "Has Space", "under_score", "-lead", "trail-", "a--b",
                                  "中文", "x" * 81, None, 5])
def test_bad_slugs(lead, slug):
    with pytest.raises(InvalidInput) as caught:
        create_category(lead, {"slug": slug, "name_en": "N", "name_zh": "名"})
    assert "slug" in caught.value.errors


def test_cycles_are_refused(make_category, lead):
    top = make_category("top")
    middle = make_category("middle", parent=top)
    bottom = make_category("bottom", parent=middle)
    for parent in (top, bottom, middle):
        with pytest.raises(InvalidInput) as caught:
            update_category(lead, top, {"parent_id": parent.id})
        assert "parent_id" in caught.value.errors
    update_category(lead, bottom, {"parent_id": None, "name_en": "Bottom"})
    assert bottom.parent_id is None and bottom.name_en == "Bottom"
    update_category(lead, top, {"parent_id": bottom.id})
    assert top.parent_id == bottom.id


def test_delete_refused_with_children_or_articles(make_category, lead):
    parent = make_category("parent")
    child = make_category("child", parent=parent)
    create_article(lead, {"title": "T", "language": "en", "category_id": child.id})
    with pytest.raises(Conflict):
        delete_category(lead, parent)
    with pytest.raises(Conflict):
        delete_category(lead, child)
    empty = make_category("empty")
    delete_category(lead, empty)
    db.session.commit()
    assert db.session.get(Category, empty.id) is None


@pytest.mark.parametrize("role", ["agent", "department", "sales", "partner"])
def test_only_managers_manage_categories(make_user, make_category, role):
    category = make_category("general")
    user = make_user(role)
    with pytest.raises(Forbidden):
        create_category(user, {"slug": "new", "name_en": "N", "name_zh": "新"})
    with pytest.raises(Forbidden):
        update_category(user, category, {"name_en": "Changed"})
    with pytest.raises(Forbidden):
        delete_category(user, category)
