"""The knowledge-base JSON API on SQLite: visibility, writing, search, versions, numbers."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from knowledge_base.models import Article, Deflection, Search, SearchSource
from service.extensions import db

ARTICLES = "/api/v1/kb/articles"
SUGGEST = "/api/v1/kb/suggest"


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def lead(make_user):
    return make_user("lead")


@pytest.fixture
def agent(make_user):
    return make_user("agent")


@pytest.fixture
def as_lead(auth, lead):
    return auth(lead)


@pytest.fixture
def as_agent(auth, agent):
    return auth(agent)


@pytest.fixture
def write(client, as_lead):
    """write(status="published", **fields) → a new article (as the lead) as JSON."""

    def make(status: str = "published", headers=None, **fields):
        body = {"kind": "howto", "title": "Reset the router", "language": "en",
                "audience": "public", "summary": "Hold the reset button.",
                "body": "Hold **reset** for ten seconds.", "status": status, **fields}
        response = client.post(ARTICLES, json=body, headers=headers or as_lead)
        assert response.status_code == 201, response.json
        return response.json

    return make


def ids(response) -> set[int]:
    assert response.status_code == 200, response.json
    return {item["id"] for item in response.json["items"]}


# ---- visibility ----

def test_customers_see_only_published_public_articles(client, write, as_lead, as_agent,
                                                      auth, make_user):
    public = write(title="Public and published")
    internal = write(title="Internal only", audience="internal")
    draft = write(title="Still a draft", status="draft")
    review = write(title="Being reviewed", status="in_review")
    archived = write(title="Old news")
    assert client.patch(f"{ARTICLES}/{archived['id']}", json={"status": "archived"},
                        headers=as_lead).status_code == 200
    partner = auth(make_user("partner"))

    for headers in ({}, partner):  # anonymous, and a token without kb.view
        assert ids(client.get(ARTICLES, headers=headers)) == {public["id"]}
        assert client.get(f"{ARTICLES}/{public['id']}", headers=headers).status_code == 200
        for hidden in (internal, draft, review, archived):
            response = client.get(f"{ARTICLES}/{hidden['id']}", headers=headers)
            assert response.status_code == 404
            assert response.mimetype == "application/problem+json"
    # Staff see every status but archived by default, and may ask for archived ones.
    assert ids(client.get(ARTICLES, headers=as_agent)) == {
        public["id"], internal["id"], draft["id"], review["id"]}
    assert ids(client.get(f"{ARTICLES}?status=archived", headers=as_agent)) == {archived["id"]}
    assert ids(client.get(f"{ARTICLES}?status=draft,in_review", headers=as_agent)) == {
        draft["id"], review["id"]}
    assert ids(client.get(f"{ARTICLES}?audience=internal", headers=as_agent)) == {
        internal["id"]}
    assert client.get(f"{ARTICLES}/{draft['id']}", headers=as_agent).status_code == 200


def test_customers_may_not_use_staff_filters(client, write):
    response = client.get(f"{ARTICLES}?status=draft&audience=internal&review_due=true")
    assert response.status_code == 400
    assert set(response.json["errors"]) == {"status", "audience", "review_due"}
    assert client.get(f"{ARTICLES}?audience=public").status_code == 200


def test_a_bad_token_is_refused_even_on_public_endpoints(client):
    response = client.get(ARTICLES, headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401


def test_article_view_fields_and_view_counting(client, write, as_lead, lead):
    article = write(title="Printer offline", tags=["Printer"], products=["P-100"],
                    body="<script>alert(1)</script>\n\n**bold**")
    anonymous = client.get(f"{ARTICLES}/{article['id']}").json
    assert anonymous["url"] == f"http://support.test/help/articles/{article['id']}"
    assert "<script>" not in anonymous["body_html"] and "<strong>bold</strong>" in \
        anonymous["body_html"]
    assert anonymous["products"] == ["P-100"] and anonymous["tags"] == ["printer"]
    assert anonymous["helpful"] == {"yes": 0, "no": 0}
    assert "owner" not in anonymous and "source_ticket" not in anonymous
    assert client.get(f"{ARTICLES}/{article['id']}").json["views"] == 2
    staff = client.get(f"{ARTICLES}/{article['id']}", headers=as_lead).json
    assert staff["views"] == 2  # staff reads are not customer views
    assert staff["owner"] == {"id": lead.id, "name": lead.name}
    assert staff["source_ticket"] is None
    draft = write(status="draft")
    assert draft["url"] is None


def test_categories_and_translations(client, write, as_lead, lead):
    from knowledge_base.categories import create_category

    parent = create_category(lead, {"slug": "network", "name_en": "Network",
                                    "name_zh": "网络"})
    db.session.flush()
    child = create_category(lead, {"slug": "routers", "name_en": "Routers",
                                   "name_zh": "路由器", "parent_id": parent.id})
    db.session.commit()
    english = write(title="Reset the router", category_id=child.id)
    chinese = write(title="重置路由器", language="zh", translation_of=english["id"],
                    category_id=child.id)
    write(title="Internal router notes", audience="internal", category_id=child.id)
    write(title="Router draft", status="draft", category_id=child.id)

    view = client.get(f"{ARTICLES}/{english['id']}",
                      headers={"Accept-Language": "zh-CN"}).json
    assert view["category"] == {"id": child.id, "slug": "routers", "name": "路由器",
                                "path": ["网络", "路由器"]}
    assert view["translations"] == [{"id": chinese["id"], "language": "zh",
                                     "title": "重置路由器"}]
    # By id or slug, subcategories included; an unknown slug is a field error.
    assert ids(client.get(f"{ARTICLES}?category={parent.id}")) == {english["id"], chinese["id"]}
    assert ids(client.get(f"{ARTICLES}?category=network")) == {english["id"], chinese["id"]}
    assert client.get(f"{ARTICLES}?category=nope").status_code == 400
    assert client.get(f"{ARTICLES}?category=Bad Slug!").status_code == 400

    public = {item["slug"]: item for item in client.get("/api/v1/kb/categories").json["items"]}
    # Counts include subcategories; customers' count only published public articles.
    assert [public["network"]["article_count"], public["routers"]["article_count"]] == [2, 2]
    assert public["routers"]["parent_id"] == parent.id and public["routers"]["depth"] == 1
    staff = {item["slug"]: item for item in
             client.get("/api/v1/kb/categories", headers=as_lead).json["items"]}
    assert [staff["network"]["article_count"], staff["routers"]["article_count"]] == [4, 4]


def test_list_pages_with_a_cursor(client, write, as_agent):
    made = {write(title=f"Article {n}")["id"] for n in range(5)}
    first = client.get(f"{ARTICLES}?limit=2").json
    assert len(first["items"]) == 2 and first["next_cursor"]
    seen = {item["id"] for item in first["items"]}
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"{ARTICLES}?limit=2&cursor={cursor}").json
        seen |= {item["id"] for item in page["items"]}
        cursor = page["next_cursor"]
    assert seen == made


# ---- writing ----

def test_create_publish_then_visible_publicly(client, as_agent, as_lead):
    body = {"kind": "troubleshooting", "title": "Wi-Fi drops every hour", "language": "en",
            "audience": "public", "sections": {"symptoms": "It drops.", "steps": "Update."},
            "note": "first draft"}
    created = client.post(ARTICLES, json=body, headers=as_agent)
    assert created.status_code == 201
    article = created.json
    assert created.headers["Location"].endswith(f"/api/v1/kb/articles/{article['id']}")
    assert article["status"] == "draft" and article["version"] == 1
    assert "Symptoms" in article["body_html"]
    url = f"{ARTICLES}/{article['id']}"
    assert client.get(url).status_code == 404
    # The agent sends it for review; only a publisher publishes.
    assert client.patch(url, json={"status": "in_review"}, headers=as_agent).json[
        "status"] == "in_review"
    refused = client.patch(url, json={"status": "published"}, headers=as_agent)
    assert refused.status_code == 403
    published = client.patch(url, json={"status": "published"}, headers=as_lead)
    assert published.status_code == 200 and published.json["published_at"]
    assert published.json["review_by"]  # a default review date
    assert client.get(url).json["title"] == "Wi-Fi drops every hour"
    assert ids(client.get(ARTICLES)) == {article["id"]}


def test_an_agent_may_not_create_a_published_article(client, as_agent):
    response = client.post(ARTICLES, json={"kind": "howto", "title": "T", "language": "en",
                                           "audience": "public", "status": "published"},
                           headers=as_agent)
    assert response.status_code == 403
    assert count(Article) == 0


def test_create_needs_kb_write(client, auth, make_user):
    body = {"kind": "howto", "title": "T", "language": "en", "audience": "public"}
    assert client.post(ARTICLES, json=body).status_code == 401
    assert client.post(ARTICLES, json=body,
                       headers=auth(make_user("sales"))).status_code == 403
    assert count(Article) == 0


BAD_BODIES = [
    ({"title": "T", "audience": "public"}, "kind"),
    ({"kind": "howto", "title": "", "audience": "public"}, "title"),
    ({"kind": "howto", "title": "T" * 201, "audience": "public"}, "title"),
    ({"kind": "howto", "title": "T", "language": "fr", "audience": "public"}, "language"),
    ({"kind": "howto", "title": "T", "audience": "everyone"}, "audience"),
    ({"kind": "howto", "title": 7, "audience": "public"}, "title"),
    ({"kind": "howto", "title": "T", "audience": "public", "category_id": "1"}, "category_id"),
    ({"kind": "howto", "title": "T", "audience": "public", "category_id": 2**31},
     "category_id"),
    ({"kind": "howto", "title": "T", "audience": "public", "tags": "a,b"}, "tags"),
    ({"kind": "howto", "title": "T", "audience": "public", "tags": ["x"] * 21}, "tags"),
    ({"kind": "howto", "title": "T", "audience": "public", "status": "archived"}, "status"),
    ({"kind": "howto", "title": "T", "audience": "public", "owner": 1}, "owner"),
    ({"kind": "howto", "title": "T", "audience": "public", "sections": {"symptoms": 3}},
     "sections"),
    ({"kind": "howto", "title": "T", "audience": "public", "review_by": "next week"},
     "review_by"),
    ({"kind": "howto", "title": "T", "audience": "public", "note": "n" * 301}, "note"),
]


def test_create_rejects_bad_fields(client, as_lead):
    for body, field in BAD_BODIES:
        response = client.post(ARTICLES, json=body, headers=as_lead)
        assert response.status_code == 400, (body, response.json)
        assert response.mimetype == "application/problem+json"
        assert field in response.json["errors"], (body, response.json)
    assert count(Article) == 0


def test_service_rules_come_back_as_field_errors(client, as_lead):
    response = client.post(ARTICLES, json={
        "kind": "howto", "title": "T", "language": "en", "audience": "public",
        "sections": {"symptoms": "not a how-to section"}, "category_id": 999}, headers=as_lead)
    assert response.status_code == 400
    assert {"sections", "category_id"} <= set(response.json["errors"])
    assert count(Article) == 0


def test_malformed_bodies_are_problems(client, as_lead):
    for data, content_type in (("{not json", "application/json"), ("[1, 2]", "application/json"),
                               ("title=x", "application/x-www-form-urlencoded")):
        response = client.post(ARTICLES, data=data, content_type=content_type,
                               headers=as_lead)
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"
    assert count(Article) == 0


def test_patch_rules(client, write, as_lead, as_agent, auth, make_user):
    draft = write(status="draft", title="Draft title")
    url = f"{ARTICLES}/{draft['id']}"
    assert client.patch(url, json={}, headers=as_agent).status_code == 400
    assert client.patch(url, json={"note": "only a note"}, headers=as_agent).status_code == 400
    unknown = client.patch(url, json={"titel": "x"}, headers=as_agent)
    assert unknown.status_code == 400 and "titel" in unknown.json["errors"]
    changed = client.patch(url, json={"title": "Better title", "note": "clearer"},
                           headers=as_agent)
    assert changed.status_code == 200
    assert changed.json["title"] == "Better title" and changed.json["version"] == 2
    # draft → archived is not a transition: 409, and the title change with it is not kept.
    refused = client.patch(url, json={"title": "Lost change", "status": "archived"},
                           headers=as_lead)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert db.session.get(Article, draft["id"]).title == "Better title"
    assert client.get(url, headers=as_lead).json["title"] == "Better title"
    # Published: an agent may see it but not edit it (403); customers get 401 / 404.
    published = write()
    url = f"{ARTICLES}/{published['id']}"
    assert client.patch(url, json={"title": "x"}, headers=as_agent).status_code == 403
    assert client.patch(url, json={"title": "x"}).status_code == 401
    partner = auth(make_user("partner"))
    internal = write(audience="internal")
    assert client.patch(f"{ARTICLES}/{internal['id']}", json={"title": "x"},
                        headers=partner).status_code == 404
    assert client.patch(f"{ARTICLES}/999999", json={"title": "x"},
                        headers=as_lead).status_code == 404


# ---- search and suggestions ----

def test_search_with_q_ranks_records_and_hides_internal(client, write, as_agent):
    printer = write(title="打印机无法连接网络", language="zh", summary="检查打印机的网线。",
                    body="重新启动打印机。")
    write(title="打印机内部维修记录", language="zh", audience="internal", body="打印机")
    write(title="Reset the router", body="Unplug it.")
    found = client.get(f"{ARTICLES}?q=打印")
    assert ids(found) == {printer["id"]}
    item = found.json["items"][0]
    assert item["score"] is not None and "<mark>" in item["title_html"] + item["snippet_html"]
    assert found.json["total"] == 1
    assert len(ids(client.get(f"{ARTICLES}?q=打印", headers=as_agent))) == 2
    assert count(Search, Search.source == SearchSource.API) == 2
    nothing = client.get(f"{ARTICLES}?q=zzzqqq")
    assert nothing.json["items"] == [] and nothing.json["total"] == 0
    assert count(Search, Search.results == 0) == 1


def test_search_corrects_a_typo(client, write):
    router = write(title="Configure the router firewall",
                   body="The router firewall blocks printers.")
    response = client.get(f"{ARTICLES}?q=fierwall")
    assert response.status_code == 200
    assert ids(response) == {router["id"]}
    assert response.json["corrected"] == "firewall"


def test_search_pages_and_cursor_errors(client, write):
    made = {write(title=f"Router guide {n}", body="router")["id"] for n in range(3)}
    first = client.get(f"{ARTICLES}?q=router&limit=2").json
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = client.get(f"{ARTICLES}?q=router&limit=2&cursor={first['next_cursor']}").json
    assert {item["id"] for item in first["items"] + second["items"]} == made
    assert second["next_cursor"] is None
    # A list's keyset cursor is not a search cursor, and garbage is neither.
    keyset = client.get(f"{ARTICLES}?limit=1").json["next_cursor"]
    for cursor in (keyset, "garbage", "e30"):
        response = client.get(f"{ARTICLES}?q=router&cursor={cursor}")
        assert response.status_code == 400 and "cursor" in response.json["errors"]
    assert client.get(f"{ARTICLES}?cursor=garbage").status_code == 400


def test_suggest(client, write, as_agent):
    public = write(title="Printer paper jam", summary="Open the tray.")
    internal = write(title="Printer firmware internals", audience="internal")
    response = client.get(f"{SUGGEST}?q=printer")
    assert response.status_code == 200
    items = response.json["items"]
    assert [item["id"] for item in items] == [public["id"]]
    assert items[0]["url"].endswith(f"/help/articles/{public['id']}")
    assert set(items[0]) == {"id", "title", "title_html", "snippet_html", "kind", "language",
                             "url"}
    staff = client.get(f"{SUGGEST}?q=printer", headers=as_agent).json["items"]
    by_id = {item["id"]: item for item in staff}
    if internal["id"] in by_id:  # staff may be offered internal ones: never with a URL
        assert by_id[internal["id"]]["url"] is None
    assert count(Search) == 0  # typing is not a search


def test_suggest_rejects_bad_queries(client):
    for query in ("", "?q=", "?q=%20%20", "?q=" + "x" * 201, "?q=printer&limit=11",
                  "?q=printer&limit=0", "?q=printer&limit=abc", "?q=printer&language=fr",
                  "?q=a&q=b", "?q=printer&foo=1"):
        response = client.get(SUGGEST + query)
        assert response.status_code == 400, query
        assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "RATELIMIT_STORAGE_URI": "memory://",
                                         "KB_SUGGEST_RATE_LIMIT": "3 per minute",
                                         "RATELIMIT_PUBLIC": "2 per minute"}])
def test_suggest_and_deflections_are_rate_limited(client):
    from service.extensions import limiter

    limiter.reset()
    codes = [client.get(f"{SUGGEST}?q=printer").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    body = {"article_id": 999, "source": "portal"}
    codes = [client.post("/api/v1/kb/deflections", json=body).status_code for _ in range(3)]
    assert codes == [404, 404, 429]
    limiter.reset()


# ---- versions ----

def test_versions_diff_and_restore(client, write, as_lead, as_agent, lead):
    article = write(status="draft", title="First title", body="line one")
    url = f"{ARTICLES}/{article['id']}"
    client.patch(url, json={"title": "Second title", "body": "line one\nline two",
                            "note": "more"}, headers=as_lead)
    history = client.get(f"{url}/versions", headers=as_agent)
    assert history.status_code == 200
    assert [item["number"] for item in history.json["items"]] == [2, 1]
    assert history.json["items"][0]["note"] == "more"
    assert history.json["items"][0]["author"] == {"id": lead.id, "name": lead.name}
    second = client.get(f"{url}/versions/2", headers=as_agent).json
    assert second["title"] == "Second title" and second["body"] == "line one\nline two"
    changed = {section["field"]: section["lines"] for section in second["diff"]}
    assert {"kind": "add", "text": "line two"} in changed["body"]
    assert {"title", "body"} <= set(changed)
    assert client.get(f"{url}/versions/1", headers=as_agent).json["diff"] == []
    assert client.get(f"{url}/versions/9", headers=as_agent).status_code == 404
    assert client.get(f"{url}/versions").status_code == 401

    restored = client.post(f"{url}/versions/1/restore", headers=as_agent)
    assert restored.status_code == 200
    assert restored.json["title"] == "First title" and restored.json["version"] == 3
    assert client.post(f"{url}/versions/9/restore", headers=as_agent).status_code == 404
    published = write()
    assert client.post(f"{ARTICLES}/{published['id']}/versions/1/restore",
                       headers=as_agent).status_code == 403


# ---- deflections and numbers ----

def test_deflections(client, write):
    article = write()
    draft = write(status="draft")
    response = client.post("/api/v1/kb/deflections", json={
        "article_id": article["id"], "source": "web_form", "query": "printer jam"})
    assert response.status_code == 201
    assert response.json["article_id"] == article["id"]
    assert response.json["source"] == "web_form" and response.json["created_at"]
    assert count(Deflection) == 1
    for body in ({"article_id": draft["id"], "source": "portal"},
                 {"article_id": 2**31 - 1, "source": "portal"}):
        assert client.post("/api/v1/kb/deflections", json=body).status_code == 404
    for body in ({"article_id": article["id"], "source": "email"},
                 {"article_id": "1", "source": "portal"},
                 {"article_id": 2**31, "source": "portal"},
                 {"article_id": article["id"], "source": "portal", "query": "x" * 301},
                 {"source": "portal"}, {"article_id": article["id"], "source": "portal",
                                        "extra": True}):
        response = client.post("/api/v1/kb/deflections", json=body)
        assert response.status_code == 400, body
    assert count(Deflection) == 1


def test_stats(client, write, as_lead, as_agent):
    article = write()
    client.get(f"{ARTICLES}/{article['id']}")
    client.post("/api/v1/kb/deflections", json={"article_id": article["id"],
                                                "source": "portal"})
    response = client.get("/api/v1/kb/stats", headers=as_lead)
    assert response.status_code == 200
    numbers = response.json
    assert numbers["views"] == 1 and numbers["deflections"] == 1
    assert numbers["deflections_by_source"].get("portal") == 1
    assert {"helpful_rate", "content_gaps", "review_due", "top_articles", "searches",
            "searches_without_result", "tickets_with_article"} <= set(numbers)
    assert numbers["top_articles"][0]["article_id"] == article["id"]
    ranged = client.get("/api/v1/kb/stats?since=2026-01-01&until=2026-02-01T00:00:00Z",
                        headers=as_lead)
    assert ranged.status_code == 200
    assert ranged.json["since"].startswith("2026-01-01T00:00:00")
    assert client.get("/api/v1/kb/stats", headers=as_agent).status_code == 403
    assert client.get("/api/v1/kb/stats").status_code == 401
    for query in ("since=2026-02-01&until=2026-01-01", "since=2024-01-01&until=2026-01-01",
                  "since=yesterday", "until=2026-13-01", "days=3",
                  # near datetime's ends: converting or subtracting would overflow
                  "since=9999-12-31T23:00:00-14:00", "until=0001-01-01", "since=9999-12-31"):
        response = client.get(f"/api/v1/kb/stats?{query}", headers=as_lead)
        assert response.status_code == 400, query


# ---- bad inputs everywhere ----

def test_list_rejects_bad_queries(client, as_lead):
    for query in ("limit=101", "limit=0", "limit=lots", "kind=essay", "language=de",
                  "review_due=maybe", "limit=1&limit=2", "q=" + "x" * 201, "sort=title",
                  f"category={2**31}", "category=-1", "category=%C2%B2", "status=gone",
                  "q=", "cursor="):
        response = client.get(f"{ARTICLES}?{query}", headers=as_lead)
        assert response.status_code == 400, query
        assert response.mimetype == "application/problem+json"


def test_impossible_ids_are_not_found(client, as_lead):
    for path in ("abc", "0", "-1", str(2**31), str(2**64), f"1/versions/{2**31}",
                 "1/versions/x"):
        response = client.get(f"{ARTICLES}/{path}", headers=as_lead)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"
    response = client.post(f"{ARTICLES}/{2**31}/versions/1/restore", headers=as_lead)
    assert response.status_code == 404


def test_review_due_filter_for_staff(client, write, as_lead):
    due = write(review_by="2020-01-01")
    write(review_by="2999-01-01")
    assert ids(client.get(f"{ARTICLES}?review_due=true", headers=as_lead)) == {due["id"]}
    assert client.get(f"{ARTICLES}?review_due=true&q=router",
                      headers=as_lead).status_code == 400


def test_openapi_document_stays_valid(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/kb/articles"])
    assert {"get", "patch"} <= set(paths["/api/v1/kb/articles/{article_id}"])
    assert "post" in paths["/api/v1/kb/articles/{article_id}/versions/{number}/restore"]
    assert "security" not in paths["/api/v1/kb/deflections"]["post"]
    # token_optional: anonymous or a bearer token, and a bad token is a 401
    listing = paths["/api/v1/kb/articles"]["get"]
    assert listing["security"] == [{}, {"bearer": []}]
    assert "401" in listing["responses"]
    assert "401" not in paths["/api/v1/kb/deflections"]["post"]["responses"]
    assert {"ArticleIn", "ArticleOut", "ArticlePageOut"} <= set(spec["components"]["schemas"])
