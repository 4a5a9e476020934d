"""The ticket queues page: membership, visibility, filters, search, sorting, keyset pages,
saved views, the rows partial, SLA and VIP display, and bad input (400, never 500)."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import event, func, select

from service.auth.models import Availability
from service.db_types import utcnow
from service.directory.models import Account, Contact, Tier
from service.extensions import db
from tickets.models import Channel, Priority, SavedView, SlaState, Status, TicketTag

ROW = re.compile(r'<tr data-id="(\d+)"')
NEXT = re.compile(r'<a class="button secondary" rel="next" href="([^"]+)"')


def listed(response) -> list[int]:
    """The ticket ids of a queue page's rows, in order."""
    return [int(value) for value in ROW.findall(response.get_data(as_text=True))]


def change(ticket, **fields) -> None:
    """Put a ticket in a state directly (test set-up, not the behaviour under test)."""
    for name, value in fields.items():
        setattr(ticket, name, value)
    db.session.commit()


@pytest.fixture
def make_agent(make_user, support_team):
    """make_agent(role="agent", team=support_team): staff who get no automatic tickets."""

    def factory(role: str = "agent", team=support_team, **fields):
        return make_user(role, team=team, availability=Availability.AWAY, **fields)

    return factory


@pytest.fixture
def signed_in(app, console_login):
    """signed_in(user) → a new test client with that user signed in to the console."""

    def factory(user):
        return console_login(app.test_client(), user)

    return factory


@pytest.fixture
def world(make_agent, make_team, make_ticket):
    """Tickets in every queue of the support team, and one of another team."""
    me, colleague = make_agent(), make_agent()
    other_team = make_team("Logistics")
    outsider = make_agent(team=other_team)
    now = utcnow()
    t = {name: make_ticket(subject=f"ticket {name}") for name in (
        "mine", "mine_closed", "colleague", "unassigned", "waiting_customer",
        "waiting_internal", "resolved", "at_risk", "breached", "overdue_unswept", "other")}
    change(t["mine"], assignee_id=me.id, status=Status.OPEN)
    change(t["mine_closed"], assignee_id=me.id, status=Status.CLOSED)
    change(t["colleague"], assignee_id=colleague.id, status=Status.OPEN)
    change(t["waiting_customer"], assignee_id=me.id, status=Status.PENDING_CUSTOMER,
           sla_paused_at=now)
    change(t["waiting_internal"], assignee_id=me.id, status=Status.PENDING_INTERNAL)
    change(t["resolved"], assignee_id=me.id, status=Status.RESOLVED, resolved_at=now)
    change(t["at_risk"], assignee_id=colleague.id, status=Status.OPEN,
           sla_state=SlaState.AT_RISK, first_response_warn_at=now - timedelta(minutes=5),
           first_response_due_at=now + timedelta(minutes=10))
    change(t["breached"], status=Status.OPEN, sla_state=SlaState.BREACHED,
           first_response_due_at=now - timedelta(hours=3),
           first_response_breached_at=now - timedelta(hours=3))
    # The sweep has not run yet: the stored state says on track, the clock says breached.
    change(t["overdue_unswept"], status=Status.OPEN, sla_state=SlaState.ON_TRACK,
           first_response_warn_at=now - timedelta(hours=2),
           first_response_due_at=now - timedelta(hours=1),
           sla_next_check_at=now - timedelta(hours=2))
    change(t["other"], team_id=other_team.id, assignee_id=outsider.id, status=Status.OPEN)
    ids = {name: ticket.id for name, ticket in t.items()}
    return {"me": me, "colleague": colleague, "outsider": outsider, "ids": ids}


# ---- access ----

@pytest.mark.parametrize("path", ["/console/tickets", "/console/tickets?queue=all",
                                  "/console/tickets/rows?queue=all"])
def test_signed_out_users_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/console/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["admin", "lead", "agent", "department", "sales"])
def test_every_staff_role_opens_the_queues(client, make_user, console_login, role):
    console_login(client, make_user(role))
    for queue in ("mine", "team", "unassigned", "at_risk", "waiting_customer",
                  "waiting_internal", "resolved", "all"):
        response = client.get(f"/console/tickets?queue={queue}")
        assert response.status_code == 200, (role, queue)
    assert client.get("/console/tickets").status_code == 200  # "mine" by default


def test_partners_have_no_console(client, make_user, console_login):
    console_login(client, make_user("partner"))
    assert client.get("/console/tickets").status_code == 403


def test_bulk_controls_only_for_roles_that_may_change_tickets(signed_in, make_user, make_ticket):
    ticket = make_ticket()
    admin = signed_in(make_user("admin"))
    assert 'id="bulk-form"' in admin.get("/console/tickets?queue=all").get_data(as_text=True)
    member = make_user("department")
    change(ticket, assignee_id=member.id)  # so a department member sees it
    page = signed_in(member).get("/console/tickets?queue=all").get_data(as_text=True)
    assert listed(signed_in(member).get("/console/tickets?queue=all")) == [ticket.id]
    assert 'id="bulk-form"' not in page and 'name="ids"' not in page


# ---- membership and visibility ----

@pytest.mark.parametrize("queue, expected", [
    ("mine", {"mine", "waiting_customer", "waiting_internal"}),
    ("team", {"mine", "colleague", "unassigned", "waiting_customer", "waiting_internal",
              "at_risk", "breached", "overdue_unswept"}),
    ("unassigned", {"unassigned", "breached", "overdue_unswept"}),
    ("at_risk", {"at_risk", "breached", "overdue_unswept"}),
    ("waiting_customer", {"waiting_customer"}),
    ("waiting_internal", {"waiting_internal"}),
    ("resolved", {"resolved"}),
    ("all", {"mine", "mine_closed", "colleague", "unassigned", "waiting_customer",
             "waiting_internal", "resolved", "at_risk", "breached", "overdue_unswept"}),
])
def test_queue_membership(client, console_login, world, queue, expected):
    console_login(client, world["me"])
    response = client.get(f"/console/tickets?queue={queue}")
    assert response.status_code == 200
    ids = world["ids"]
    assert set(listed(response)) == {ids[name] for name in expected}


def test_at_risk_lists_the_least_time_left_first(client, console_login, world):
    console_login(client, world["me"])
    ids = world["ids"]
    response = client.get("/console/tickets?queue=at_risk")
    assert listed(response) == [ids["breached"], ids["overdue_unswept"], ids["at_risk"]]
    page = response.get_data(as_text=True)
    assert "3 hours ago" in page  # a breached ticket says how long ago


def test_another_teams_agent_sees_none_of_them(client, console_login, world):
    console_login(client, world["outsider"])
    assert listed(client.get("/console/tickets?queue=all")) == [world["ids"]["other"]]
    assert listed(client.get("/console/tickets?queue=unassigned")) == []
    assert listed(client.get(f"/console/tickets?queue=all&q=T-{world['ids']['mine']}")) == []


def test_admin_sees_every_ticket(client, console_login, make_user, world):
    console_login(client, make_user("admin"))
    assert len(listed(client.get("/console/tickets?queue=all"))) == len(world["ids"])


# ---- filters and search ----

def test_filters(client, console_login, make_agent, make_team, make_ticket, support_team):
    me, colleague = make_agent(), make_agent()
    urgent = make_ticket(subject="Server down", priority=Priority.URGENT, channel=Channel.PHONE,
                         tags=["outage"])
    low = make_ticket(subject="Question", priority=Priority.LOW, channel=Channel.EMAIL)
    pending = make_ticket(subject="Waiting", priority=Priority.HIGH)
    change(urgent, assignee_id=me.id, status=Status.OPEN)
    change(low, assignee_id=colleague.id, status=Status.OPEN)
    change(pending, status=Status.PENDING_CUSTOMER, sla_state=SlaState.PAUSED,
           sla_paused_at=utcnow())
    console_login(client, me)

    def ids(query: str) -> set[int]:
        response = client.get(f"/console/tickets?queue=all&{query}")
        assert response.status_code == 200, query
        return set(listed(response))

    assert ids("priority=urgent") == {urgent.id}
    assert ids("priority=urgent&priority=low") == {urgent.id, low.id}
    assert ids("status=pending_customer") == {pending.id}
    assert ids("status=open&status=pending_customer") == {urgent.id, low.id, pending.id}
    assert ids("assignee=me") == {urgent.id}
    assert ids("assignee=none") == {pending.id}
    assert ids(f"assignee={colleague.id}") == {low.id}
    assert ids("channel=phone") == {urgent.id}
    assert ids("tag=outage") == {urgent.id}
    assert ids("tag=OUTAGE") == {urgent.id}  # tags are lower-case
    assert ids("sla_state=paused") == {pending.id}
    assert ids(f"team={support_team.id}") == {urgent.id, low.id, pending.id}
    assert ids(f"team={make_team('Empty').id}") == set()
    assert ids("priority=urgent&channel=email") == set()
    # An empty form field means "any".
    assert ids("team=&assignee=&channel=&tag=&q=&sort=") == {urgent.id, low.id, pending.id}


def test_search_by_number_subject_and_customer(client, console_login, make_agent, make_ticket):
    printer = make_ticket(subject="打印机无法连接", customer_email="li.lei@example.cn",
                          customer_name="李雷")
    other = make_ticket(subject="Invoice 50% off_by_one", customer_email="ann@acme.test",
                        customer_name="Ann Smith")
    console_login(client, make_agent())

    def ids(text: str) -> list[int]:
        response = client.get("/console/tickets", query_string={"queue": "all", "q": text})
        assert response.status_code == 200, text
        return listed(response)

    assert ids(f"T-{printer.id:06d}") == [printer.id]
    assert ids(f"t{printer.id}") == [printer.id]
    assert ids("50") == [other.id]  # digits alone are text, not a ticket number
    assert ids("打印机") == [printer.id]
    assert ids("invoice") == [other.id]
    assert ids("50%") == [other.id]  # LIKE wildcards are literal
    assert ids("off_by") == [other.id]
    assert ids("%x%") == []
    assert ids("ANN@ACME.TEST") == [other.id]  # a whole address
    assert ids("@acme") == [other.id]  # part of one
    assert ids("Smith") == [other.id]  # the customer's name
    assert ids("李雷") == [printer.id]
    assert ids("nothing like this") == []
    assert ids("T-99999999999") == []


def test_the_api_search_still_looks_at_numbers_and_subjects_only(client, auth, make_agent,
                                                                 make_ticket):
    ticket = make_ticket(subject="Router", customer_email="zed@example.com")
    headers = auth(make_agent())
    items = client.get("/api/v1/tickets?q=zed@example.com", headers=headers).json["items"]
    assert items == []
    items = client.get("/api/v1/tickets?q=Router", headers=headers).json["items"]
    assert [item["id"] for item in items] == [ticket.id]


# ---- sorting and keyset pages ----

@pytest.fixture
def sortable(make_agent, make_ticket):
    """Five tickets with known created/updated times, priorities and SLA deadlines."""
    agent = make_agent()
    base = utcnow() - timedelta(days=2)
    specs = [  # priority, created (h), updated (h), first response due (h from now)
        (Priority.NORMAL, 0, 5, 30), (Priority.URGENT, 1, 1, -2), (Priority.LOW, 2, 4, 10),
        (Priority.HIGH, 3, 2, 1), (Priority.URGENT, 4, 3, 50)]
    now = utcnow()
    tickets = []
    for priority, created, updated, due in specs:
        ticket = make_ticket(priority=priority)
        change(ticket, created_at=base + timedelta(hours=created),
               updated_at=base + timedelta(hours=updated),
               first_response_due_at=now + timedelta(hours=due))
        tickets.append(ticket.id)
    return agent, tickets


@pytest.mark.parametrize("sort, order", [
    ("", [0, 2, 4, 3, 1]),  # last update, newest first
    ("-updated_at", [0, 2, 4, 3, 1]),
    ("-created_at", [4, 3, 2, 1, 0]),
    ("created_at", [0, 1, 2, 3, 4]),
    ("-priority", [4, 1, 3, 0, 2]),  # urgent (newest update first), high, normal, low
    ("sla_due", [1, 3, 2, 0, 4]),  # overdue first, then least time left
])
def test_sort_orders(client, console_login, sortable, sort, order):
    agent, tickets = sortable
    console_login(client, agent)
    response = client.get(f"/console/tickets?queue=all&sort={sort}")
    assert response.status_code == 200
    assert listed(response) == [tickets[index] for index in order]


def test_sla_sort_puts_stopped_clocks_last(client, console_login, sortable):
    agent, tickets = sortable
    paused = db.session.get(__import__("tickets.models").models.Ticket, tickets[4])
    change(paused, sla_paused_at=utcnow(), first_response_due_at=utcnow() - timedelta(days=9))
    console_login(client, agent)
    order = listed(client.get("/console/tickets?queue=all&sort=sla_due"))
    assert order[-1] == tickets[4]


@pytest.mark.parametrize("sort", ["", "-created_at", "created_at", "-priority", "sla_due"])
def test_keyset_pages_have_no_duplicates_or_gaps(client, console_login, make_agent, make_ticket,
                                                 sort):
    agent = make_agent()
    same_moment = utcnow() - timedelta(hours=1)
    ids = []
    for index in range(7):
        ticket = make_ticket(priority=[Priority.HIGH, Priority.LOW][index % 2])
        # Ties on every sort key: only the id can order them.
        change(ticket, updated_at=same_moment, created_at=same_moment)
        ids.append(ticket.id)
    console_login(client, agent)
    url = f"/console/tickets?queue=all&limit=3&sort={sort}"
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        seen += listed(response)
        pages += 1
        if pages > 1:
            assert "First page" in page
        assert f"{len(listed(response))} on this page" in page
        match = NEXT.search(page)
        url = unescape(match.group(1)) if match else None
    assert pages == 3
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    everything = listed(client.get(f"/console/tickets?queue=all&limit=50&sort={sort}"))
    assert seen == everything


def test_the_page_size_is_fifty(client, console_login, make_agent, make_ticket, app):
    agent = make_agent()
    for _ in range(51):
        make_ticket()
    console_login(client, agent)
    page = client.get("/console/tickets?queue=all")
    assert len(listed(page)) == 50
    assert NEXT.search(page.get_data(as_text=True))


def test_the_rows_cost_the_same_queries_for_two_or_many_tickets(client, console_login,
                                                                make_agent, make_ticket):
    agent = make_agent()
    console_login(client, agent)
    statements: list[str] = []

    def count(*args, **_kwargs):
        statements.append(args[2])

    def measure() -> list[str]:
        """The statements of one page that read tickets or their tags."""
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/console/tickets?queue=all").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return [sql for sql in statements if re.search(r"\bFROM (tickets|ticket_tags)\b", sql)]

    for _ in range(2):
        make_ticket(tags=["a", "b"])
    few = measure()
    for _ in range(8):
        make_ticket(tags=["c"])
    many = measure()
    assert len(few) == len(many) == 2  # the rows, then their tags: no query per row
    assert len(statements) < 10


# ---- display ----

def test_subjects_are_escaped(client, console_login, make_agent, make_ticket):
    make_ticket(subject="<script>alert(1)</script>", customer_name="<b>Eve</b>")
    console_login(client, make_agent())
    page = client.get("/console/tickets?queue=all").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Eve</b>" not in page


def test_vip_customers_have_a_badge(client, console_login, make_agent, make_ticket):
    account = Account(name="Big Co", tier=Tier.VIP)
    db.session.add(account)
    db.session.flush()
    db.session.add(Contact(email="boss@big.test", name="Boss", account_id=account.id))
    db.session.commit()
    vip = make_ticket(customer_email="boss@big.test")
    plain = make_ticket(customer_email="someone@small.test")
    console_login(client, make_agent())
    page = client.get("/console/tickets?queue=all").get_data(as_text=True)
    rows = {int(m.group(1)): m.group(0) for m in re.finditer(r'<tr data-id="(\d+)".*?</tr>',
                                                              page, re.S)}
    assert 'class="badge vip"' in rows[vip.id]
    assert 'class="badge vip"' not in rows[plain.id]


def test_sla_cells_show_state_in_class_and_text(signed_in, make_agent, make_ticket):
    import time_machine

    on_track = make_ticket(priority=Priority.URGENT)
    paused = make_ticket(priority=Priority.NORMAL)
    change(paused, status=Status.PENDING_CUSTOMER, sla_paused_at=utcnow())
    agent = make_agent()

    def cell(ticket_id: int) -> str:
        page = signed_in(agent).get("/console/tickets?queue=all").get_data(as_text=True)
        row = re.search(rf'<tr data-id="{ticket_id}".*?</tr>', page, re.S).group(0)
        return re.search(r'<td class="sla".*?</td>', row, re.S).group(0)

    first = cell(on_track.id)
    assert 'data-state="on_track"' in first and "sla-on_track" in first
    assert "On track" in first and "data-due=" in first and "data-warn=" in first
    assert "in 60 minutes" in first
    paused_cell = cell(paused.id)
    assert "sla-paused" in paused_cell and "Paused" in paused_cell
    assert "data-due" not in paused_cell  # a stopped clock has no countdown
    with time_machine.travel(utcnow() + timedelta(minutes=50)):
        at_risk = cell(on_track.id)
        assert "sla-at_risk" in at_risk and "At risk" in at_risk
    with time_machine.travel(utcnow() + timedelta(hours=4)):
        breached = cell(on_track.id)
        assert "sla-breached" in breached and "Breached" in breached
        assert "3 hours ago" in breached


def test_ticket_links_and_relative_update_times(client, console_login, make_agent, make_ticket):
    ticket = make_ticket()
    console_login(client, make_agent())
    page = client.get("/console/tickets?queue=all").get_data(as_text=True)
    assert f'href="/console/tickets/{ticket.id}"' in page
    assert re.search(r'<time datetime="[^"]+" title="\d{4}-\d\d-\d\d \d\d:\d\d \(', page)


def test_times_are_written_in_the_readers_language(client, console_login, make_agent,
                                                   make_ticket):
    make_ticket()  # normal priority: first response due in 24 hours
    console_login(client, make_agent(locale="zh_CN"))
    page = client.get("/console/tickets?queue=all").get_data(as_text=True)
    assert 'data-lang="zh-CN"' in page  # what queue.js counts down in
    assert "24小时后" in page


# ---- the rows partial ----

def test_rows_partial_is_the_table_body_only(client, console_login, make_agent, make_ticket):
    ticket = make_ticket()
    console_login(client, make_agent())
    response = client.get("/console/tickets/rows?queue=all")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<tbody" not in body
    assert listed(response) == [ticket.id]
    assert response.headers["X-Queue-Rows"] == "1"
    assert response.headers["Cache-Control"] == "no-store"
    page = client.get("/console/tickets?queue=all").get_data(as_text=True)
    assert 'data-rows-url="/console/tickets/rows?queue=all"' in page


def test_rows_partial_refuses_bad_arguments(client, console_login, make_agent):
    console_login(client, make_agent())
    # A page whose filters are invalid has nothing to refresh.
    assert "data-rows-url" not in client.get("/console/tickets?queue=bogus").get_data(
        as_text=True)
    response = client.get("/console/tickets/rows?queue=bogus")
    assert response.status_code == 400
    assert response.headers["X-Queue-Rows"] == "error"


# ---- bad parameters: a 400 page that says what is wrong, never a 500 ----

@pytest.mark.parametrize("query, message", [
    ("queue=bogus", "There is no such queue."),
    ("priority=bogus", "not a valid choice"),
    ("status=bogus", "not a valid choice"),
    ("sla_state=late", "not a valid choice"),
    ("sort=bogus", "Choose one of the listed orders."),
    ("sort=subject", "Choose one of the listed orders."),
    ("channel=fax", "Not a valid choice"),
    ("team=abc", "Not a valid choice"),
    ("team=99999999999999999999", "Not a valid choice"),
    ("assignee=bob", "Not a valid choice"),
    ("limit=100000", "tickets per page"),
    ("limit=0", "tickets per page"),
    ("limit=abc", "Not a valid integer"),
    ("limit=" + "9" * 5000, "Not a valid integer"),
    ("cursor=garbage", "no longer valid"),
    ("cursor=%25%25%25", "no longer valid"),
    ("cursor=WyJ4Il0", "no longer valid"),
    ("cursor=" + "A" * 300, "Field cannot be longer"),
    ("tag=%3Cx%3E", "Tags are"),
    ("q=" + "x" * 201, "Field cannot be longer"),
])
def test_bad_parameters_are_a_400_page(client, console_login, make_agent, make_ticket, query,
                                       message):
    make_ticket()
    console_login(client, make_agent())
    response = client.get(f"/console/tickets?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "some filters are not valid" in page
    assert message in unescape(page)
    assert listed(response) == []


def test_cursors_of_another_sort_or_shape_are_refused(client, console_login, make_agent,
                                                      make_ticket):
    from service.pagination import encode_cursor

    for _ in range(3):
        make_ticket()
    console_login(client, make_agent())
    first = client.get("/console/tickets?queue=all&limit=1&sort=-created_at")
    cursor = re.search(r"cursor=([^&\"]+)", NEXT.search(first.get_data(as_text=True))
                       .group(1)).group(1)
    assert client.get(f"/console/tickets?queue=all&limit=1&sort=-priority&cursor={cursor}"
                      ).status_code == 400
    for value in (["x", "y"], [1], [True, "2026-01-01T00:00:00+00:00"],
                  [2, "2026-01-01T00:00:00"], [10**6, "2026-01-01T00:00:00+00:00"]):
        bad = encode_cursor("-priority", value, 1)
        assert client.get(f"/console/tickets?queue=all&sort=-priority&cursor={bad}"
                          ).status_code == 400, value
    assert client.get("/console/tickets?queue=all&sort=sla_due&cursor="
                      + encode_cursor("sla_due", "soon", 1)).status_code == 400


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "💥" * 50, "' OR 1=1 --", "\\", "%_%"])
def test_odd_search_text_is_harmless(client, console_login, make_agent, text):
    console_login(client, make_agent())
    response = client.get("/console/tickets", query_string={"queue": "all", "q": text})
    assert response.status_code == 200


def test_repeated_and_unknown_parameters_do_not_break_the_page(client, console_login, make_agent):
    console_login(client, make_agent())
    assert client.get("/console/tickets?queue=all&queue=mine&utm_source=x").status_code == 200


# ---- saved views ----

def views_of(user) -> list[SavedView]:
    return list(db.session.scalars(select(SavedView).where(SavedView.user_id == user.id)
                                   .order_by(SavedView.id)))


def test_save_list_open_and_delete_a_view(client, console_login, make_agent, make_ticket):
    urgent = make_ticket(priority=Priority.URGENT, subject="Down")
    make_ticket(priority=Priority.LOW)
    agent = make_agent()
    console_login(client, agent)
    response = client.post("/console/tickets/views", data={
        "csrf_token": client.csrf_token, "name": "  Urgent   ones ",
        "params": "queue=all&priority=urgent&q=Down&cursor=abc&limit=3"})
    assert response.status_code == 303
    [view] = views_of(agent)
    assert view.name == "Urgent ones"
    assert view.params == {"queue": "all", "priority": ["urgent"], "q": "Down"}
    target = response.headers["Location"]
    assert listed(client.get(target)) == [urgent.id]
    page = client.get("/console/tickets").get_data(as_text=True)
    assert "Urgent ones" in page
    assert unescape(target) in unescape(page)

    from tickets.queues import saved_views_for

    assert [v.name for v in saved_views_for(agent)] == ["Urgent ones"]
    response = client.post(f"/console/tickets/views/{view.id}/delete",
                           data={"csrf_token": client.csrf_token, "return_to": "queue=team"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/tickets?queue=team")
    assert views_of(agent) == []


def test_a_duplicate_name_is_a_form_error(client, console_login, signed_in, make_agent):
    agent = make_agent()
    console_login(client, agent)
    data = {"csrf_token": client.csrf_token, "name": "Mine", "params": "queue=mine"}
    assert client.post("/console/tickets/views", data=data).status_code == 303
    response = client.post("/console/tickets/views", data={**data, "params": "queue=all"})
    assert response.status_code == 400
    assert "You already have a view with this name." in response.get_data(as_text=True)
    assert len(views_of(agent)) == 1
    # Another user may use the same name.
    other = signed_in(make_agent())
    assert other.post("/console/tickets/views", data={
        **data, "csrf_token": other.csrf_token}).status_code == 303


@pytest.mark.parametrize("data, message", [
    ({"name": "", "params": "queue=all"}, "Give the view a name."),
    ({"name": "x" * 81, "params": "queue=all"}, "1 to 80 characters"),
    ({"name": "Bad", "params": "queue=bogus"}, "The filters of this view are not valid."),
    ({"name": "Bad", "params": "priority=p0"}, "The filters of this view are not valid."),
    ({"name": "Bad", "params": "x" * 3000}, "Field cannot be longer"),
])
def test_invalid_views_are_not_saved(client, console_login, make_agent, data, message):
    agent = make_agent()
    console_login(client, agent)
    response = client.post("/console/tickets/views", data={"csrf_token": client.csrf_token,
                                                            **data})
    assert response.status_code == 400
    assert message in unescape(response.get_data(as_text=True))
    assert views_of(agent) == []


def test_view_forms_need_the_csrf_token(client, console_login, make_agent):
    agent = make_agent()
    console_login(client, agent)
    response = client.post("/console/tickets/views", data={"name": "x", "params": "queue=all"})
    assert response.status_code == 400
    assert views_of(agent) == []
    client.post("/console/tickets/views", data={"csrf_token": client.csrf_token, "name": "x",
                                                "params": "queue=all"})
    [view] = views_of(agent)
    assert client.post(f"/console/tickets/views/{view.id}/delete").status_code == 400
    assert len(views_of(agent)) == 1


def test_someone_elses_view_is_not_found(signed_in, make_agent):
    owner, intruder = make_agent(), make_agent()
    client = signed_in(owner)
    client.post("/console/tickets/views", data={"csrf_token": client.csrf_token,
                                                "name": "Private", "params": "queue=all"})
    [view] = views_of(owner)
    client = signed_in(intruder)
    response = client.post(f"/console/tickets/views/{view.id}/delete",
                           data={"csrf_token": client.csrf_token})
    assert response.status_code == 404
    assert "Private" not in client.get("/console/tickets").get_data(as_text=True)
    assert len(views_of(owner)) == 1
    for bad in ("999999", "99999999999999", "0", "abc"):
        assert client.post(f"/console/tickets/views/{bad}/delete",
                           data={"csrf_token": client.csrf_token}).status_code == 404


def test_saved_views_are_limited(client, console_login, make_agent):
    from tickets.queues import MAX_SAVED_VIEWS

    agent = make_agent()
    db.session.add_all([SavedView(user_id=agent.id, name=f"v{i}", params={"queue": "all"})
                        for i in range(MAX_SAVED_VIEWS)])
    db.session.commit()
    console_login(client, agent)
    response = client.post("/console/tickets/views", data={
        "csrf_token": client.csrf_token, "name": "one more", "params": "queue=all"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(SavedView.id))) == MAX_SAVED_VIEWS


def test_a_tagged_ticket_keeps_its_tags_on_screen(client, console_login, make_agent,
                                                   make_ticket):
    ticket = make_ticket(tags=["wifi", "中文"])
    console_login(client, make_agent())
    page = client.get("/console/tickets?queue=all").get_data(as_text=True)
    assert '<span class="tag">wifi</span>' in page and '<span class="tag">中文</span>' in page
    assert db.session.scalar(select(func.count()).select_from(TicketTag)
                             .where(TicketTag.ticket_id == ticket.id)) == 2
