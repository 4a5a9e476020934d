"""The knowledge-base API on PostgreSQL (migrated schema, tsvector search)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from knowledge_base.models import Article, Search
from service.extensions import db

ARTICLES = "/api/v1/kb/articles"


@pytest.fixture
def client(pg_app):
    return pg_app.test_client()


@pytest.fixture
def as_lead(pg_app, make_user, auth):
    return auth(make_user("lead"))


@pytest.fixture
def write(client, as_lead):
    def make(status: str = "published", **fields):
        body = {"kind": "howto", "title": "Reset the router", "language": "en",
                "audience": "public", "body": "Hold reset.", "status": status, **fields}
        response = client.post(ARTICLES, json=body, headers=as_lead)
        assert response.status_code == 201, response.json
        return response.json

    return make


def ids(response) -> set[int]:
    assert response.status_code == 200, response.json
    return {item["id"] for item in response.json["items"]}


def test_visibility_and_pages_on_postgres(client, write, as_lead):
    public = {write(title=f"Router guide {n}")["id"] for n in range(3)}
    internal = write(title="Router internals", audience="internal")
    draft = write(title="Router draft", status="draft")
    seen, cursor = set(), None
    while True:
        page = client.get(f"{ARTICLES}?limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        seen |= {item["id"] for item in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == public
    assert client.get(f"{ARTICLES}/{internal['id']}").status_code == 404
    assert client.get(f"{ARTICLES}/{draft['id']}").status_code == 404
    assert ids(client.get(ARTICLES, headers=as_lead)) == public | {internal["id"], draft["id"]}


def test_search_chinese_and_publish_flow_on_postgres(client, write, as_lead):
    printer = write(title="打印机无法连接网络", language="zh", body="重新启动打印机。")
    hidden = write(title="打印机维修草稿", language="zh", status="draft")
    assert ids(client.get(f"{ARTICLES}?q=打印")) == {printer["id"]}
    assert db.session.scalar(select(func.count()).select_from(Search)) == 1
    published = client.patch(f"{ARTICLES}/{hidden['id']}", json={"status": "published"},
                             headers=as_lead)
    assert published.status_code == 200
    assert ids(client.get(f"{ARTICLES}?q=打印")) == {printer["id"], hidden["id"]}
    suggestions = client.get("/api/v1/kb/suggest?q=打印机").json["items"]
    assert {item["id"] for item in suggestions} == {printer["id"], hidden["id"]}


def test_refused_transition_keeps_nothing_on_postgres(client, write, as_lead):
    draft = write(status="draft", title="Kept title")
    response = client.patch(f"{ARTICLES}/{draft['id']}",
                            json={"title": "Lost", "status": "archived"}, headers=as_lead)
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Article, draft["id"]).title == "Kept title"
    assert client.get(f"{ARTICLES}/{2**31 - 1}").status_code == 404
