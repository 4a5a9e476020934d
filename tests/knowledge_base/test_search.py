"""Knowledge-base search on SQLite (FTS5 trigram) and PostgreSQL (tsvector + pg_trgm)."""
from __future__ import annotations

import pytest

from knowledge_base.models import ArticleStatus, Audience
from knowledge_base.search import SearchQuery, index_article, remove_article, search, suggest
from service.extensions import db
from tests.knowledge_base.corpus import add_article, build_corpus


@pytest.fixture(params=["app", "pg_app"])
def corpus(request):
    request.getfixturevalue(request.param)
    # The vocabulary has no foreign key, so the PostgreSQL fixture's TRUNCATE … CASCADE
    # leaves it behind: start from an empty one.
    db.session.execute(db.text("DELETE FROM kb_search_terms"))
    return build_corpus()


def found(corpus, text: str, **filters) -> list[str]:
    names = {article.id: name for name, article in corpus.articles.items()}
    return [names[hit.article_id] for hit in search(SearchQuery(text, **filters)).hits]


def test_chinese_two_character_word_inside_a_sentence(corpus):
    # "退款" only occurs inside sentences ("…可以在七天内申请退款。") and the title.
    assert set(found(corpus, "退款")) == {"refund_zh", "refund_entry_zh"}
    assert found(corpus, "七天") == ["refund_zh"]  # body only: "可以在七天内申请退款"


def test_chinese_three_or_more_character_word(corpus):
    assert found(corpus, "电子发票") == ["invoice_zh"]
    assert found(corpus, "清除应用缓存") == ["login_zh"]  # a known issue's section
    assert found(corpus, "电子退款") == []  # a phrase, not its pairs anywhere


def test_chinese_sentence_finds_the_right_article_first(corpus):
    hits = found(corpus, "我想申请退款但是找不到入口")
    assert hits[0] == "refund_entry_zh"
    assert "invoice_zh" not in hits


def test_english_sentence_query(corpus):
    assert found(corpus, "export report times out every time")[0] == "export_en"


def test_title_match_ranks_above_body_match(corpus):
    assert found(corpus, "export") == ["export_en", "billing_en"]


def test_typo_is_corrected(corpus):
    result = search(SearchQuery("pasword reset"))
    assert [hit.article_id for hit in result.hits] == [corpus.id("password_en")]
    assert result.corrected == "password reset"
    result = search(SearchQuery("refund polcy"))
    assert result.hits[0].article_id == corpus.id("refund_policy_en")
    assert result.corrected == "refund policy"
    assert search(SearchQuery("password")).corrected is None


def test_typo_correction_never_reveals_hidden_words(corpus):
    # "escalation" exists only in an internal article: no correction for customers.
    result = search(SearchQuery("escalaton"))
    assert result.hits == [] and result.corrected is None
    staff = search(SearchQuery("escalaton", public_only=False))
    assert staff.corrected == "escalation"
    assert [hit.article_id for hit in staff.hits] == [corpus.id("internal_en")]


def test_filters(corpus):
    # Category includes its subcategories (billing is under account).
    assert set(found(corpus, "refund", category_id=corpus.categories["account"].id)) == {
        "refund_policy_en"}
    assert found(corpus, "invoices", category_id=corpus.categories["billing"].id) == [
        "billing_en"]
    assert found(corpus, "password", category_id=corpus.categories["mobile"].id) == []
    assert found(corpus, "login", product="Mobile app") == ["login_en"]
    assert found(corpus, "login", product="Shop") == []
    assert set(found(corpus, "退款", language="zh")) == {"refund_zh", "refund_entry_zh"}
    assert found(corpus, "退款", language="en") == []
    assert found(corpus, "app", kind="known_issue") == ["login_en"]
    assert found(corpus, "app", kind="howto") == []
    assert found(corpus, "refund", audience="internal", public_only=False) == ["internal_en"]


def test_public_only_never_returns_hidden_articles(corpus):
    hidden = {"internal_en", "draft_en", "review_en", "archived_en"}
    for text in ("refund", "refund policy", "runbook", "upcoming", "timelines", "old"):
        assert not hidden & set(found(corpus, text)), text
        assert not hidden & {corpus.articles[name].id for name in hidden} & {
            hit.article_id for hit in suggest(text)}
    staff = found(corpus, "refund", public_only=False,
                  statuses=("published", "draft", "in_review", "archived"))
    assert hidden <= set(staff)
    assert "draft_en" not in found(corpus, "refund", public_only=False)  # published only


def test_bad_statuses_find_nothing(corpus):
    assert found(corpus, "refund", public_only=False, statuses=("nonsense",)) == []


def test_reindex_on_change(corpus):
    article = corpus.articles["password_en"]
    article.title = "Change your passphrase"
    article.summary = "Pick a new passphrase."
    article.body = ""
    article.tags = []
    index_article(article)
    db.session.commit()
    assert found(corpus, "password") == []
    assert found(corpus, "passphrase") == ["password_en"]
    # The vocabulary followed: the old word is gone, so no typo leads back to it.
    assert search(SearchQuery("pasword")).corrected is None
    article = corpus.articles["refund_policy_en"]
    article.status = ArticleStatus.ARCHIVED
    index_article(article)
    db.session.commit()
    assert "refund_policy_en" not in found(corpus, "refund")
    remove_article(corpus.id("export_en"))
    db.session.commit()
    assert found(corpus, "export") == ["billing_en"]


def test_snippets_escape_article_text_and_mark_matches(corpus):
    (hit,) = search(SearchQuery("script")).hits
    assert hit.article_id == corpus.id("html_en")
    assert "<script>" not in hit.snippet_html
    assert "&lt;<mark>script</mark>&gt;" in hit.snippet_html
    (hit,) = search(SearchQuery("bold markup")).hits
    assert hit.title_html == "Using &lt;b&gt;<mark>bold</mark>&lt;/b&gt; <mark>markup</mark>"


def test_snippet_is_cut_around_the_match(corpus):
    long_body = "Lorem ipsum dolor sit amet. " * 30 + "The needle is here. " + "Tail words. " * 30
    add_article("Haystack", body=long_body)
    db.session.commit()
    (hit,) = search(SearchQuery("needle")).hits
    assert hit.snippet_html.startswith("…") and hit.snippet_html.endswith("…")
    assert "<mark>needle</mark>" in hit.snippet_html
    assert len(hit.snippet_html.striptags()) < 200


def test_suggest(corpus):
    assert [hit.article_id for hit in suggest("refund pol")][0] == corpus.id("refund_policy_en")
    assert [hit.article_id for hit in suggest("退款", language="zh")][0] in {
        corpus.id("refund_zh"), corpus.id("refund_entry_zh")}
    assert suggest("退款", language="en") == []
    assert suggest("login", product="Mobile app")[0].article_id == corpus.id("login_en")
    assert len(suggest("refund", limit=1)) == 1
    assert suggest("") == [] and suggest("r") == [] and suggest("  x ") == []
    assert {hit.article_id for hit in suggest("refund", public_only=False)} >= {
        corpus.id("internal_en")}


NASTY_QUERIES = [
    '"', '""', "*", "refund*", "OR", "refund OR password", "NEAR(refund password)", "NOT",
    "'", "''", ":", "title:refund", "\\", "%", "_", "%_%", "refund AND", "-refund", "^",
    "{title}: refund", "(", ")", "&", "|", "!", "<->", "'refund':*", "退款' | '密码",
    "x" * 5000, "refund " * 300, "退款" * 400, "!!!???...", "😀🎉", "refund 😀", "\x00",
    "   ", "ü", "café crème", "re%und", "pass_ord",
]


def test_query_syntax_never_raises(corpus):
    for text in NASTY_QUERIES:
        result = search(SearchQuery(text))
        assert result.total >= len(result.hits), text
        suggest(text)
        search(SearchQuery(text, public_only=False, statuses=("draft",), offset=5, limit=3))
    # Operators are words like any other, not query syntax.
    assert found(corpus, "refund OR password") == found(corpus, "refund or password")
    assert found(corpus, "NEAR(refund password)") == found(corpus, "near refund password")
    assert found(corpus, "%") == found(corpus, "_") == found(corpus, "*") == []


def test_full_width_query_is_normalised(corpus):
    assert found(corpus, "ＲＥＦＵＮＤ　ＰＯＬＩＣＹ")[0] == "refund_policy_en"


def test_paging_and_total(corpus):
    for number in range(5):
        add_article(f"Widget guide {number}", summary="All about widgets.")
    db.session.commit()
    first = search(SearchQuery("widgets", limit=2))
    second = search(SearchQuery("widgets", limit=2, offset=2))
    past = search(SearchQuery("widgets", limit=2, offset=10))
    assert first.total == second.total == past.total == 5
    assert len(first.hits) == len(second.hits) == 2 and past.hits == []
    assert not {hit.article_id for hit in first.hits} & {hit.article_id for hit in second.hits}


def test_internal_audience_is_not_public(corpus):
    article = corpus.articles["password_en"]
    article.audience = Audience.INTERNAL
    db.session.commit()
    assert found(corpus, "password") == []
    assert found(corpus, "password", public_only=False) == ["password_en"]
