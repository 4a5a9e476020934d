"""Articles on tickets: use, link, unlink (permissions, idempotency), the resolved and created
listeners, the ticket page's panel and the insert flow."""
from __future__ import annotations

import threading
from html import unescape

import pytest
from sqlalchemy import func, select

from knowledge_base import articles, ticket_links, ticket_listeners
from knowledge_base.models import (Article, ArticleKind, ArticleStatus, ArticleTicket, Search,
                                   SearchSource, TicketLinkKind)
from service.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.extensions import db
from service.labels import STAFF_STATUS_LABELS
from tests.tickets.helpers_resolution import resolve_ticket
from tickets.models import Channel, TicketEvent


def write_article(author, publisher=None, *, status: ArticleStatus = ArticleStatus.PUBLISHED,
                  **fields) -> Article:
    """An article made through the articles service (published by `publisher` if asked)."""
    data = {"kind": ArticleKind.HOWTO, "title": "Replace the toner cartridge",
            "summary": "Open the front cover and swap the cartridge.",
            "body": "1. Open the cover.\n2. Pull the old cartridge out.", "language": "en",
            "audience": "public"}
    data.update(fields)
    article = articles.create_article(author, data)
    if status == ArticleStatus.PUBLISHED:
        articles.set_status(publisher or author, article, ArticleStatus.PUBLISHED)
    db.session.commit()
    return article


def links(ticket_id: int, kind: TicketLinkKind | None = None) -> list[ArticleTicket]:
    query = select(ArticleTicket).where(ArticleTicket.ticket_id == ticket_id)
    if kind is not None:
        query = query.where(ArticleTicket.kind == kind)
    return list(db.session.scalars(query.order_by(ArticleTicket.id)))


def events_of(ticket_id: int, kind: str) -> list[TicketEvent]:
    return list(db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id,
                                                             TicketEvent.kind == kind)))


@pytest.fixture
def world(app, make_user, make_ticket, support_team):
    lead = make_user("lead", team=support_team)
    agent = make_user("agent", team=support_team)
    ticket = make_ticket(subject="Toner cartridge is empty",
                         description="The printer says the toner is empty.")
    howto = write_article(agent, lead)
    known = write_article(agent, lead, kind=ArticleKind.KNOWN_ISSUE,
                          title="Scanner drops Wi-Fi after the 4.2 update",
                          sections={"symptoms": "The scanner goes offline.",
                                    "workaround": "Use a cable."})
    return {"lead": lead, "agent": agent, "ticket": ticket, "howto": howto, "known": known}


# ---- use ----

def test_use_is_recorded_once(world):
    agent, ticket, howto = world["agent"], world["ticket"], world["howto"]
    first = ticket_links.use_article(agent, ticket.id, howto.id)
    db.session.commit()
    second = ticket_links.use_article(agent, ticket.id, howto.id)
    db.session.commit()
    assert first.id == second.id
    assert [(row.article_id, row.kind, row.user_id) for row in links(ticket.id)] == [
        (howto.id, TicketLinkKind.USED, agent.id)]
    [event] = events_of(ticket.id, ticket_links.EVENT_USED)
    assert event.actor_user_id == agent.id and event.data["article_id"] == howto.id


def test_use_needs_kb_write(world, make_user, support_team):
    department = make_user("department", team=support_team)
    with pytest.raises(Forbidden):
        ticket_links.use_article(department, world["ticket"].id, world["howto"].id)
    assert links(world["ticket"].id) == []


def test_use_on_an_invisible_ticket(world, make_user, make_team):
    outsider = make_user("agent", team=make_team("Billing"))
    with pytest.raises(NotFound):
        ticket_links.use_article(outsider, world["ticket"].id, world["howto"].id)
    with pytest.raises(NotFound):
        ticket_links.use_article(world["agent"], 999999, world["howto"].id)


def test_use_of_a_missing_or_draft_article(world):
    agent, ticket = world["agent"], world["ticket"]
    with pytest.raises(NotFound):
        ticket_links.use_article(agent, ticket.id, 999999)
    draft = write_article(agent, status=ArticleStatus.DRAFT, title="Not ready yet")
    with pytest.raises(Conflict):
        ticket_links.use_article(agent, ticket.id, draft.id)
    assert links(ticket.id) == []


# ---- link / unlink ----

def test_link_and_unlink_a_known_issue(world):
    agent, ticket, known = world["agent"], world["ticket"], world["known"]
    ticket_links.link_article(agent, ticket.id, known.id)
    ticket_links.link_article(agent, ticket.id, known.id)
    db.session.commit()
    assert [row.kind for row in links(ticket.id)] == [TicketLinkKind.LINKED]
    assert [(item.ticket_id, item.number, item.kind) for item in
            ticket_links.tickets_of(known.id)] == [
        (ticket.id, f"T-{ticket.id:06d}", "linked")]
    assert [article.id for article, _link in ticket_links.articles_of(ticket.id)] == [known.id]
    ticket_links.unlink_article(agent, ticket.id, known.id)
    ticket_links.unlink_article(agent, ticket.id, known.id)  # nothing left: no-op
    db.session.commit()
    assert links(ticket.id) == []
    assert len(events_of(ticket.id, ticket_links.EVENT_LINKED)) == 1
    assert len(events_of(ticket.id, ticket_links.EVENT_UNLINKED)) == 1


def test_only_known_issues_and_root_causes_are_linked(world):
    with pytest.raises(InvalidInput) as error:
        ticket_links.link_article(world["agent"], world["ticket"].id, world["howto"].id)
    assert "article_id" in error.value.errors
    assert links(world["ticket"].id) == []


def test_tickets_of_hides_tickets_the_user_may_not_see(world, make_user, make_team):
    agent, ticket, howto = world["agent"], world["ticket"], world["howto"]
    ticket_links.use_article(agent, ticket.id, howto.id)
    db.session.commit()
    outsider = make_user("agent", team=make_team("Sales desk"))
    assert [item.ticket_id for item in ticket_links.tickets_of(howto.id, user=agent)] == [
        ticket.id]
    assert ticket_links.tickets_of(howto.id, user=outsider) == []


# ---- listeners ----

def test_resolving_stamps_used_and_linked_links_once(world):
    agent, lead, ticket = world["agent"], world["lead"], world["ticket"]
    ticket_links.use_article(agent, ticket.id, world["howto"].id)
    ticket_links.link_article(agent, ticket.id, world["known"].id)
    db.session.commit()
    assert all(row.ticket_resolved_at is None for row in links(ticket.id))
    resolve_ticket(lead, ticket)
    db.session.expire_all()
    stamped = {row.kind: row.ticket_resolved_at for row in links(ticket.id)}
    assert set(stamped) == {TicketLinkKind.USED, TicketLinkKind.LINKED}
    assert all(stamped.values())
    # A later resolution keeps the first time.
    assert ticket_listeners.mark_resolved(ticket.id) == 0
    db.session.expire_all()
    assert {row.kind: row.ticket_resolved_at for row in links(ticket.id)} == stamped


def test_web_form_subject_is_kept_as_a_search(world, make_ticket):
    make_ticket(subject="Fax machine smells of smoke", channel=Channel.WEB, language="en")
    make_ticket(subject="Toner cartridge empty", channel=Channel.PORTAL, language="en")
    make_ticket(subject="Sent by the API", channel=Channel.API)
    rows = db.session.execute(select(Search.query, Search.source, Search.results)
                              .order_by(Search.id)).all()
    assert [(query, source) for query, source, _results in rows] == [
        ("fax machine smells of smoke", SearchSource.WEB_FORM),
        ("toner cartridge empty", SearchSource.PORTAL)]
    assert rows[0].results == 0 and rows[1].results >= 1


def test_a_failing_search_never_breaks_intake(world, make_ticket, monkeypatch):
    from knowledge_base import search

    def broken(*args, **kwargs):
        raise RuntimeError("search backend down")

    monkeypatch.setattr(search, "suggest", broken)
    ticket = make_ticket(subject="Still works", channel=Channel.WEB)
    assert ticket.id is not None
    assert db.session.scalar(select(func.count()).select_from(Search)) == 0


# ---- the ticket page ----

def page(client, ticket_id: int, **args) -> str:
    response = client.get(f"/console/tickets/{ticket_id}", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_panel_suggests_and_searches(world, client, console_login, make_ticket):
    agent, ticket, howto, known = world["agent"], world["ticket"], world["howto"], world["known"]
    console_login(client, agent)
    html = page(client, ticket.id)
    assert 'id="knowledge-base"' in html
    assert "Suggested articles" in html
    assert f'id="kb-found-{howto.id}"' in html
    assert f"/console/kb/tickets/{ticket.id}/articles/{howto.id}/use" in html
    html = page(client, ticket.id, kb_q="scanner wi-fi")
    assert f'id="kb-found-{known.id}"' in html
    assert f"/console/kb/tickets/{ticket.id}/articles/{known.id}/link" in html
    assert f'id="kb-found-{howto.id}"' not in html
    html = page(client, ticket.id, kb_q="<script>alert(1)</script>")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "No published article matches." in html


def test_panel_suggests_from_the_subject_when_the_message_says_much_more(
        world, client, console_login, make_ticket):
    # A long first message alone would ask a hit to match too many words.
    # Its words are in the knowledge base, but in the other article.
    ticket = make_ticket(subject="Toner cartridge empty", description=(
        "The scanner went offline after the update, the scanner drops wi-fi, we use a "
        "cable now but the scanner still goes offline after every update."))
    console_login(client, world["agent"])
    assert f'id="kb-found-{world["howto"].id}"' in page(client, ticket.id)


def test_panel_offers_no_actions_without_kb_write(world, client, console_login, make_user,
                                                  support_team):
    # Every staff role has kb.view and sees the panel; a department user may not use articles.
    department = make_user("department", team=support_team)
    console_login(client, department)
    html = page(client, world["ticket"].id)
    assert 'id="knowledge-base"' in html and f'id="kb-found-{world["howto"].id}"' in html
    assert "Insert into reply" not in html


def test_insert_flow_fills_the_reply_box(world, client, console_login):
    agent, ticket, howto = world["agent"], world["ticket"], world["howto"]
    console_login(client, agent)
    response = client.post(f"/console/kb/tickets/{ticket.id}/articles/{howto.id}/use",
                           data={"csrf_token": client.csrf_token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(
        f"/console/tickets/{ticket.id}?kb_article={howto.id}#reply")
    assert [row.kind for row in links(ticket.id)] == [TicketLinkKind.USED]
    html = unescape(page(client, ticket.id, kb_article=howto.id))
    box = html.split('id="reply-body"', 1)[1].split("</textarea>", 1)[0]
    assert "Replace the toner cartridge" in box
    assert f"http://support.test/help/articles/{howto.id}" in box
    assert 'id="reply-public" name="visibility" value="public" checked' in html
    assert "used the article “Replace the toner cartridge” in a reply." in html
    # Now on the ticket, no longer among the suggestions.
    assert f'id="kb-on-{howto.id}"' in html and f'id="kb-found-{howto.id}"' not in html


def test_internal_article_goes_in_as_an_internal_note(world, client, console_login):
    agent, lead, ticket = world["agent"], world["lead"], world["ticket"]
    internal = write_article(agent, lead, audience="internal", title="Toner reset codes",
                             summary="", body="Hold **Stop** for 5 s, then enter `4711`.")
    console_login(client, agent)
    html = unescape(page(client, ticket.id, kb_article=internal.id))
    box = html.split('id="reply-body"', 1)[1].split("</textarea>", 1)[0]
    assert "Hold Stop for 5 s, then enter 4711." in box
    assert "**" not in box and "/help/articles" not in box
    assert 'id="reply-internal" name="visibility" value="internal" checked' in html


def test_reply_draft_ignores_what_the_user_may_not_use(world, client, console_login,
                                                       make_user, support_team):
    agent, ticket = world["agent"], world["ticket"]
    draft = write_article(agent, status=ArticleStatus.DRAFT, title="Secret plan")
    console_login(client, agent)
    for value in (str(draft.id), "999999", "abc", "-1", "99999999999", "\u0661\u0662", "1e3"):
        html = page(client, ticket.id, kb_article=value)
        box = html.split('id="reply-body"', 1)[1].split("</textarea>", 1)[0]
        assert "Secret plan" not in box and "/help/articles" not in box


def test_panel_actions_refuse_bad_requests(world, client, console_login, make_user,
                                           support_team):
    agent, ticket, howto, known = world["agent"], world["ticket"], world["howto"], world["known"]
    console_login(client, agent)
    url = f"/console/kb/tickets/{ticket.id}/articles"
    assert client.post(f"{url}/{howto.id}/use").status_code == 400  # no CSRF token
    response = client.post(f"{url}/{howto.id}/link", data={"csrf_token": client.csrf_token})
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "#knowledge-base")
    assert "Only known issues" in page(client, ticket.id)  # flashed
    assert links(ticket.id) == []
    response = client.post(f"/console/kb/tickets/999999/articles/{known.id}/link",
                           data={"csrf_token": client.csrf_token})
    assert response.status_code == 404
    department = make_user("department", team=support_team)
    other = client.application.test_client()
    console_login(other, department)
    response = other.post(f"{url}/{howto.id}/use", data={"csrf_token": other.csrf_token})
    assert response.status_code == 403
    response = client.post(f"{url}/{known.id}/link", data={"csrf_token": client.csrf_token})
    assert response.status_code == 303
    assert f"{url}/{known.id}/unlink" in page(client, ticket.id)
    client.post(f"{url}/{known.id}/unlink", data={"csrf_token": client.csrf_token})
    assert links(ticket.id) == []


# ---- PostgreSQL: concurrent clicks ----

def test_concurrent_use_makes_one_link_on_postgresql(pg_app, make_user, make_ticket,
                                                     support_team):
    agent = make_user("agent", team=support_team)
    lead = make_user("lead", team=support_team)
    ticket = make_ticket(subject="Two clicks")
    article = write_article(agent, lead)
    ticket_id, article_id, agent_id = ticket.id, article.id, agent.id
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def click() -> None:
        with pg_app.app_context():
            try:
                from service.auth.models import User

                user = db.session.get(User, agent_id)
                barrier.wait(timeout=10)
                ticket_links.use_article(user, ticket_id, article_id)
                db.session.commit()
            except BaseException as error:  # reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    db.session.expire_all()
    assert len(links(ticket_id)) == 1
    assert len(events_of(ticket_id, ticket_links.EVENT_USED)) == 1
    again = ticket_links.use_article(agent, ticket_id, article_id)
    db.session.commit()
    assert again.id == links(ticket_id)[0].id


def test_the_article_page_lists_its_tickets_with_their_staff_status(world, client,
                                                                   console_login):
    agent, ticket, known = world["agent"], world["ticket"], world["known"]
    ticket_links.link_article(agent, ticket.id, known.id)
    db.session.commit()
    console_login(client, agent)
    html = client.get(f"/console/kb/articles/{known.id}").get_data(as_text=True)
    assert f"T-{ticket.id:06d}" in html and "Toner cartridge is empty" in html
    # The staff name of the status, not the customer's "Waiting for your reply" wording.
    assert f"({STAFF_STATUS_LABELS[ticket.status.value]})" in html
