"""Console pages for customers and accounts: search, paging, details, edits, permissions."""
from __future__ import annotations

import base64
import html
import json

import pytest
from sqlalchemy import func, select

from service.directory.models import Account, AccountDomain, Contact, Tier
from service.directory.services import create_account
from service.extensions import db
from tickets.models import format_number


@pytest.fixture
def make_contact(app):
    def factory(name: str, email: str | None = None, phone: str | None = None,
                company: str | None = None, account: Account | None = None) -> Contact:
        contact = Contact(name=name, email=email, phone=phone, company=company,
                          account_id=account.id if account else None)
        db.session.add(contact)
        db.session.commit()
        return contact

    return factory


@pytest.fixture
def signed_in(client, make_user, console_login, support_team):
    """signed_in(role) → the client signed in as a new user of that role (in support)."""

    def sign_in(role: str = "admin", **fields):
        user = make_user(role, team=support_team if role in ("agent", "lead") else None,
                         **fields)
        console_login(client, user)
        return user

    return sign_in


def account_state(account_id: int) -> tuple:
    """Everything an account edit may change, to prove a refused edit wrote nothing."""
    db.session.expire_all()
    account = db.session.get(Account, account_id)
    return (account.tier, account.sales_owner_id, account.dedicated_agent_id,
            sorted(row.product for row in account.products),
            sorted(row.domain for row in account.domains))


def text_of(response) -> str:
    return response.get_data(as_text=True)


# ---- the gate ----

GET_PAGES = ["/console/customers", "/console/customers/{contact}",
             "/console/customers/search?q=a", "/console/accounts", "/console/accounts/{account}"]
EDIT_PAGES = ["/console/customers/{contact}/edit", "/console/accounts/{account}/edit",
              "/console/accounts/new"]


@pytest.fixture
def some_customer(make_contact):
    account = create_account("Acme")
    db.session.commit()
    contact = make_contact("Ada", email="ada@acme.test", account=account)
    return {"contact": contact.id, "account": account.id}


@pytest.mark.parametrize("path", GET_PAGES + EDIT_PAGES)
def test_signed_out_staff_are_sent_to_sign_in(client, some_customer, path):
    response = client.get(path.format(**some_customer))
    assert response.status_code == 302
    assert "/console/login" in response.headers["Location"]


@pytest.mark.parametrize("role,status", [("admin", 200), ("lead", 200), ("agent", 200),
                                         ("sales", 200), ("department", 403)])
@pytest.mark.parametrize("path", GET_PAGES)
def test_customer_pages_need_customer_view(client, signed_in, some_customer, role, status,
                                           path):
    signed_in(role)
    assert client.get(path.format(**some_customer)).status_code == status


@pytest.mark.parametrize("role,status", [("admin", 200), ("lead", 200), ("agent", 403),
                                         ("sales", 403), ("department", 403)])
@pytest.mark.parametrize("path", EDIT_PAGES)
def test_edit_pages_need_customer_edit(client, signed_in, some_customer, role, status, path):
    signed_in(role)
    assert client.get(path.format(**some_customer)).status_code == status


@pytest.mark.parametrize("role", ["agent", "sales", "department"])
def test_roles_without_customer_edit_cannot_post_edits(client, signed_in, some_customer, role):
    signed_in(role)
    before = account_state(some_customer["account"])
    response = client.post(f"/console/accounts/{some_customer['account']}/edit", data={
        "csrf_token": client.csrf_token, "tier": "vip", "sales_owner": "",
        "dedicated_agent": "", "products": "", "domains": ""})
    assert response.status_code == 403
    response = client.post("/console/accounts/new", data={
        "csrf_token": client.csrf_token, "name": "Sneaky", "tier": "standard"})
    assert response.status_code == 403
    response = client.post(f"/console/customers/{some_customer['contact']}/edit", data={
        "csrf_token": client.csrf_token, "name": "Renamed"})
    assert response.status_code == 403
    assert account_state(some_customer["account"]) == before
    assert db.session.scalar(select(Account.id).where(Account.name == "Sneaky")) is None
    assert db.session.get(Contact, some_customer["contact"]).name == "Ada"


def test_pages_render_in_chinese(client, signed_in, some_customer):
    signed_in("admin")
    for path in GET_PAGES + EDIT_PAGES + ["/console/tickets/new"]:
        url = path.format(**some_customer)
        response = client.get(url + ("&" if "?" in url else "?") + "lang=zh_CN")
        assert response.status_code == 200, url
        if "/search" not in url:  # the picker fragment is no page
            assert '<html lang="zh-CN">' in text_of(response)


@pytest.mark.parametrize("path", ["/console/customers/999999", "/console/accounts/999999",
                                  "/console/customers/999999/edit",
                                  "/console/accounts/999999/edit",
                                  "/console/customers/99999999999", "/console/accounts/0",
                                  "/console/customers/-1"])
def test_unknown_ids_are_not_found(client, signed_in, path):
    signed_in("admin")
    assert client.get(path).status_code == 404


# ---- finding contacts ----

@pytest.fixture
def people(make_contact):
    acme = create_account("Acme Robotics", tier="vip")
    db.session.commit()
    return {
        "wang": make_contact("王小明", email="xiaoming@example.cn", phone="+86 138-0013-8000"),
        "ada": make_contact("Ada Lovelace", email="ada@analytical.test", company="Engines Ltd"),
        "bob": make_contact("Bob Builder", email="bob@acme.test", account=acme),
        "caller": make_contact("+44 20 7946 0000", phone="+44 20 7946 0000"),
    }


def names_listed(response) -> set[str]:
    body = text_of(response)
    return {name for name in ("王小明", "Ada Lovelace", "Bob Builder", "+44 20 7946 0000")
            if f">{name}</a>" in body}


@pytest.mark.parametrize("query,expected", [
    ("王", {"王小明"}),
    ("小明", {"王小明"}),
    ("lovelace", {"Ada Lovelace"}),
    ("ADA@ANALYTICAL", {"Ada Lovelace"}),
    ("+86 138-0013-8000", {"王小明"}),
    ("+8613800138000", {"王小明"}),
    ("138 0013 8000", {"王小明"}),
    ("20 7946-0000", {"+44 20 7946 0000"}),
    ("Engines", {"Ada Lovelace"}),
    ("acme robotics", {"Bob Builder"}),
    ("nobody-here", set()),
    ("100%", set()),
    ("_", set()),
])
def test_contacts_are_found_by_name_email_phone_company_and_account(client, signed_in, people,
                                                                    query, expected):
    signed_in("agent")
    response = client.get("/console/customers", query_string={"q": query})
    assert response.status_code == 200
    assert names_listed(response) == expected


def test_the_contact_list_shows_account_vip_and_ticket_counts(client, signed_in, people,
                                                               make_ticket):
    signed_in("admin")
    make_ticket(customer_email="bob@acme.test")
    make_ticket(customer_email="bob@acme.test")
    body = text_of(client.get("/console/customers", query_string={"q": "Bob"}))
    assert "Acme Robotics" in body
    assert 'class="badge vip"' in body
    assert "2 tickets" in body
    assert f'/console/customers/{people["bob"].id}#tickets' in body


def test_contacts_come_in_keyset_pages_of_50_by_name(client, signed_in, make_contact):
    signed_in("agent")
    for number in range(120):
        make_contact(f"Person {number:03d}", email=f"p{number}@example.com")
    seen: list[str] = []
    url = "/console/customers"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = text_of(response)
        names = [f"Person {n:03d}" for n in range(120) if f">Person {n:03d}</a>" in body]
        seen.extend(names)
        pages += 1
        marker = 'rel="next" href="'
        url = body.split(marker, 1)[1].split('"', 1)[0].replace("&amp;", "&") \
            if marker in body else None
        assert len(names) == (50 if url else 20)
    assert pages == 3
    assert seen == sorted(seen) and len(set(seen)) == 120


def test_paging_keeps_the_search(client, signed_in, make_contact):
    signed_in("agent")
    for number in range(55):
        make_contact(f"Zhang {number:02d}")
    make_contact("Somebody Else")
    body = text_of(client.get("/console/customers?q=zhang"))
    link = body.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "q=zhang" in link
    second = text_of(client.get(link))
    assert second.count(">Zhang ") == 5 and "Somebody Else" not in second


@pytest.mark.parametrize("cursor", [
    "garbage", "%%%", "x" * 5000,
    base64.urlsafe_b64encode(json.dumps(["name", 5, 1]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["name", "a\u0000", 1]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["id", None, 1]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["name", "a", 2**40]).encode()).decode(),
])
def test_a_bad_cursor_shows_the_first_page(client, signed_in, people, cursor):
    signed_in("agent")
    for path in ("/console/customers", "/console/accounts"):
        response = client.get(path, query_string={"cursor": cursor})
        assert response.status_code == 400
        assert "no longer valid" in text_of(response)


@pytest.mark.parametrize("query", ["x" * 10000, "a\u0000b", "\u202e\u200b", "'; DROP TABLE",
                                   "😀", "%_\\"])
def test_odd_searches_never_fail(client, signed_in, people, query):
    signed_in("agent")
    for path in ("/console/customers", "/console/accounts", "/console/customers/search"):
        assert client.get(path, query_string={"q": query}).status_code == 200


# ---- the contact page ----

def test_the_contact_page_shows_only_tickets_the_reader_may_see(client, signed_in, make_team,
                                                                 make_ticket, people):
    other_team = make_team("Logistics")
    visible = make_ticket(subject="Visible one", customer_email="ada@analytical.test")
    hidden = make_ticket(subject="Hidden one", customer_email="ada@analytical.test")
    hidden.team_id = other_team.id
    db.session.commit()
    signed_in("agent")
    body = text_of(client.get(f"/console/customers/{people['ada'].id}"))
    assert "Visible one" in body and format_number(visible.id) in body
    assert "Hidden one" not in body and format_number(hidden.id) not in body
    assert "Engines Ltd" in body and "ada@analytical.test" in body
    assert f"/console/tickets/new?contact_id={people['ada'].id}" in body


def test_sales_see_customers_but_only_their_accounts_tickets(client, signed_in, make_user,
                                                              make_ticket, people):
    rep = signed_in("sales")
    mine = create_account("Mine Inc", sales_owner=rep, domains=["mine.test"])
    db.session.commit()
    make_ticket(subject="Their printer", customer_email="carol@mine.test")
    make_ticket(subject="Someone else's", customer_email="ada@analytical.test")
    carol = db.session.scalar(select(Contact).where(Contact.email == "carol@mine.test"))
    assert "Their printer" in text_of(client.get(f"/console/customers/{carol.id}"))
    ada_page = text_of(client.get(f"/console/customers/{people['ada'].id}"))
    assert "Someone else" not in ada_page and "No tickets that you may see" in ada_page
    account_page = text_of(client.get(f"/console/accounts/{mine.id}"))
    assert "Their printer" in account_page
    assert "Edit account" not in account_page  # read-only for sales
    assert "Edit customer" not in text_of(client.get(f"/console/customers/{carol.id}"))


def test_a_ticket_link_appears_only_when_the_ticket_page_exists(app, client, signed_in,
                                                                make_ticket, people):
    ticket = make_ticket(customer_email="ada@analytical.test")
    signed_in("admin")
    body = text_of(client.get(f"/console/customers/{people['ada'].id}"))
    linked = f'href="/console/tickets/{ticket.id}"' in body
    assert linked == ("ticket_page.show" in app.view_functions)
    assert format_number(ticket.id) in body


def test_names_are_escaped_everywhere(client, signed_in, make_contact, make_ticket):
    evil = "<script>alert(1)</script>"
    account = create_account(f"Evil {evil} Corp")
    db.session.commit()
    person = make_contact(f"Mallory {evil}", email="m@evil.test", company=evil,
                          account=account)
    make_ticket(subject=f"Subject {evil}", customer_email="m@evil.test")
    signed_in("admin")
    for path in ("/console/customers?q=Mallory", f"/console/customers/{person.id}",
                 f"/console/customers/{person.id}/edit", "/console/accounts?q=Evil",
                 f"/console/accounts/{account.id}", f"/console/accounts/{account.id}/edit",
                 "/console/customers/search?q=Mallory"):
        body = text_of(client.get(path))
        assert evil not in body, path
        assert "&lt;script&gt;" in body, path


def test_names_quoted_in_form_errors_are_escaped(client, signed_in, make_user, make_contact):
    evil = "<img src=x onerror=alert(1)>"
    agent = make_user("agent", name=f"Agent {evil}")
    account = create_account("Plain")
    db.session.commit()
    signed_in("admin")
    response = client.post(f"/console/accounts/{account.id}/edit", data={
        "csrf_token": client.csrf_token, "tier": "standard", "sales_owner": str(agent.id),
        "dedicated_agent": "", "products": evil, "domains": evil})
    body = text_of(response)
    assert response.status_code == 400
    assert evil not in body and "is not a sales rep." in body
    assert "&lt;img src=x onerror=alert(1)&gt; is not a sales rep." in body


# ---- accounts ----

def test_accounts_list_search_tier_filter_owners_and_counts(client, signed_in, make_user,
                                                           make_contact):
    rep = make_user("sales", name="Sally Sales")
    agent = make_user("agent", name="Dedicated Dan")
    vip = create_account("Globex", tier="vip", sales_owner=rep, dedicated_agent=agent,
                         domains=["globex.test"])
    create_account("Initech")
    db.session.commit()
    make_contact("G1", account=vip)
    make_contact("G2", account=vip)
    signed_in("sales")
    body = text_of(client.get("/console/accounts"))
    assert "Globex" in body and "Initech" in body
    assert "Sally Sales" in body and "Dedicated Dan" in body
    assert '<td class="num">2</td>' in body and 'class="badge vip"' in body
    vip_only = text_of(client.get("/console/accounts?tier=vip"))
    assert "Globex" in vip_only and "Initech" not in vip_only
    assert "Initech" in text_of(client.get("/console/accounts?q=initech"))
    by_domain = text_of(client.get("/console/accounts?q=globex.test"))
    assert "Globex" in by_domain and "Initech" not in by_domain
    bad = client.get("/console/accounts?tier=platinum")
    assert bad.status_code == 400 and "Initech" in text_of(bad)


def test_accounts_come_in_pages(client, signed_in):
    for number in range(60):
        create_account(f"Company {number:02d}")
    db.session.commit()
    signed_in("lead")
    body = text_of(client.get("/console/accounts"))
    assert body.count(">Company ") == 50
    link = body.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    second = text_of(client.get(link))
    assert second.count(">Company ") == 10 and "Company 59" in second
    assert 'rel="next"' not in second


def test_the_account_page(client, signed_in, make_user, make_contact, make_ticket):
    rep = make_user("sales", name="Sally Sales")
    account = create_account("Globex", tier="vip", sales_owner=rep,
                             products=["Router X", "Cloud Backup"], domains=["globex.test"])
    db.session.commit()
    make_contact("Hank Scorpio", email="hank@globex.test", account=account)
    make_ticket(subject="Doomsday device jammed", customer_email="hank@globex.test")
    signed_in("lead")
    body = text_of(client.get(f"/console/accounts/{account.id}"))
    for text in ("Globex", "VIP", "Sally Sales", "Router X", "Cloud Backup", "globex.test",
                 "Hank Scorpio", "Doomsday device jammed", "Edit account"):
        assert text in body


# ---- editing accounts ----

@pytest.fixture
def globex(make_user):
    rep = make_user("sales", name="Sally Sales")
    account = create_account("Globex", sales_owner=rep, products=["Router X"],
                             domains=["globex.test"])
    db.session.commit()
    return account


def post_account(client, account_id: int | None, **fields):
    data = {"csrf_token": client.csrf_token, "tier": "standard", "sales_owner": "",
            "dedicated_agent": "", "products": "", "domains": ""}
    data.update(fields)
    url = f"/console/accounts/{account_id}/edit" if account_id else "/console/accounts/new"
    return client.post(url, data=data)


def test_an_account_edit_saves_and_says_what_changed(client, signed_in, make_user, globex):
    new_rep = make_user("sales", name="Rita Rep")
    agent = make_user("agent", name="Dedicated Dan")
    signed_in("lead")
    response = post_account(client, globex.id, tier="vip", sales_owner=str(new_rep.id),
                            dedicated_agent=str(agent.id),
                            products="  Router X \nCloud Backup\ncloud backup\n\n",
                            domains="GLOBEX.test\n@globex.example\n")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/console/accounts/{globex.id}")
    assert account_state(globex.id) == (Tier.VIP, new_rep.id, agent.id,
                                        ["Cloud Backup", "Router X"],
                                        ["globex.example", "globex.test"])
    page = text_of(client.get(response.headers["Location"]))
    assert "Tier: Standard → VIP" in page
    assert "Sales owner: Sally Sales → Rita Rep" in page
    assert "Products added: Cloud Backup" in page
    assert "Email domains added: globex.example" in page


def test_an_unchanged_account_edit_says_so(client, signed_in, globex):
    signed_in("admin")
    owner = str(globex.sales_owner_id)
    response = post_account(client, globex.id, sales_owner=owner, products="Router X",
                            domains="globex.test")
    assert response.status_code == 303
    assert "no field changed" in text_of(client.get(response.headers["Location"]))


def test_the_edit_form_is_filled_in(client, signed_in, globex):
    signed_in("admin")
    body = text_of(client.get(f"/console/accounts/{globex.id}/edit"))
    assert "Router X</textarea>" in body and "globex.test</textarea>" in body
    assert f'<option selected value="{globex.sales_owner_id}">Sally Sales</option>' in body


@pytest.fixture
def other_account():
    account = create_account("Initech", domains=["initech.test"])
    db.session.commit()
    return account


@pytest.mark.parametrize("fields,field,message", [
    ({"tier": "platinum"}, "tier", "Choose Standard or VIP."),
    ({"sales_owner": "999999"}, "sales_owner", "There is no such user."),
    ({"sales_owner": "abc"}, "sales_owner", "Choose an entry from the list."),
    ({"sales_owner": "99999999999999"}, "sales_owner", "Choose an entry from the list."),
    ({"sales_owner": "AGENT"}, "sales_owner", "is not a sales rep."),
    ({"dedicated_agent": "SALES"}, "dedicated_agent", "is not an agent or team lead."),
    ({"dedicated_agent": "INACTIVE"}, "dedicated_agent", "is deactivated."),
    ({"domains": "not a domain"}, "domains", "is not a domain name"),
    ({"domains": "globex.test\nexample..com"}, "domains", "is not a domain name"),
    ({"domains": "gmail.com"}, "domains", "public mail service"),
    ({"domains": "INITECH.test"}, "domains", "initech.test already belongs to the account "
                                             "Initech."),
    ({"products": "\n".join(f"P{n}" for n in range(51))}, "products", "At most 50 products"),
    ({"products": "x" * 81}, "products", "longer than 80 characters"),
    ({"products": "x" * 30000}, "products", "This list is too long."),
])
def test_bad_account_edits_are_refused_and_write_nothing(client, signed_in, make_user, globex,
                                                         other_account, fields, field,
                                                         message):
    agent = make_user("agent", name="Agnes Agent")
    sales = make_user("sales", name="Sam Sales")
    retired = make_user("agent", name="Old Timer", is_active=False)
    stand_ins = {"AGENT": str(agent.id), "SALES": str(sales.id), "INACTIVE": str(retired.id)}
    fields = {key: stand_ins.get(value, value) for key, value in fields.items()}
    signed_in("lead")
    before = account_state(globex.id)
    data = {"sales_owner": str(globex.sales_owner_id), "products": "Router X",
            "domains": "globex.test", **fields}
    response = post_account(client, globex.id, **data)
    assert response.status_code == 400
    body = text_of(response)
    assert message in html.unescape(body)
    assert f'id="{field}-errors"' in body and 'aria-invalid="true"' in body
    assert "Please correct the marked fields." in body
    assert account_state(globex.id) == before
    assert db.session.scalar(select(func.count()).select_from(AccountDomain)) == 2


def test_all_problems_are_reported_at_once(client, signed_in, globex, other_account):
    signed_in("admin")
    response = post_account(client, globex.id, tier="gold", domains="initech.test",
                            products="x" * 90)
    body = text_of(response)
    assert response.status_code == 400
    for field in ("tier", "domains", "products"):
        assert f'id="{field}-errors"' in body


def test_a_deactivated_owner_may_stay_while_other_fields_change(client, signed_in, globex):
    globex.sales_owner.is_active = False
    db.session.commit()
    signed_in("admin")
    response = post_account(client, globex.id, tier="vip", sales_owner=str(globex.sales_owner_id),
                            products="Router X", domains="globex.test")
    assert response.status_code == 303
    assert account_state(globex.id)[0] == Tier.VIP


def test_removing_and_adding_products_and_domains(client, signed_in, globex):
    signed_in("admin")
    response = post_account(client, globex.id, sales_owner="", products="Switch Y",
                            domains="globex.example")
    assert response.status_code == 303
    assert account_state(globex.id) == (Tier.STANDARD, None, None, ["Switch Y"],
                                        ["globex.example"])
    page = text_of(client.get(response.headers["Location"]))
    assert "Products added: Switch Y; Products removed: Router X" in page
    assert "Sales owner: Sally Sales → none" in page


def test_a_new_account(client, signed_in, make_user):
    rep = make_user("sales")
    signed_in("admin")
    response = post_account(client, None, name="  Umbrella  ", tier="vip",
                            sales_owner=str(rep.id), products="Vaccine\nVaccine",
                            domains="umbrella.test")
    assert response.status_code == 303
    account = db.session.scalar(select(Account).where(Account.name == "Umbrella"))
    assert response.headers["Location"].endswith(f"/console/accounts/{account.id}")
    assert account_state(account.id) == (Tier.VIP, rep.id, None, ["Vaccine"], ["umbrella.test"])
    assert "Account Umbrella created." in text_of(client.get(response.headers["Location"]))


@pytest.mark.parametrize("name,message", [("Globex", "An account named Globex already exists."),
                                          ("", "Enter a name of 1 to 200 characters."),
                                          ("   ", "Enter a name of 1 to 200 characters."),
                                          ("n" * 201, "Enter at most 200 characters.")])
def test_a_new_account_needs_a_new_name(client, signed_in, globex, name, message):
    signed_in("admin")
    response = post_account(client, None, name=name)
    assert response.status_code == 400
    assert message in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(Account)) == 1


def test_account_forms_refuse_posts_without_csrf(client, signed_in, globex):
    signed_in("admin")
    before = account_state(globex.id)
    response = client.post(f"/console/accounts/{globex.id}/edit", data={"tier": "vip"})
    assert response.status_code == 400
    assert account_state(globex.id) == before
    response = client.post("/console/accounts/new", data={"name": "No Token"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Account)) == 1


# ---- editing contacts ----

def test_a_contact_edit(client, signed_in, make_contact, globex):
    person = make_contact("wang", email="wang@example.cn")
    signed_in("lead")
    response = client.post(f"/console/customers/{person.id}/edit", data={
        "csrf_token": client.csrf_token, "name": " 王伟 ", "phone": "+86 138-0013-8000",
        "company": "Globex China", "language": "zh", "account": str(globex.id)})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/console/customers/{person.id}")
    db.session.expire_all()
    person = db.session.get(Contact, person.id)
    assert (person.name, person.phone, person.phone_normalized, person.company,
            person.language, person.account_id) == (
        "王伟", "+86 138-0013-8000", "+8613800138000", "Globex China", "zh", globex.id)
    page = text_of(client.get(response.headers["Location"]))
    assert "Name: wang → 王伟" in page and "Account: none → Globex" in page
    # Found by the new number in any format.
    listed = text_of(client.get("/console/customers", query_string={"q": "8613800138000"}))
    assert "王伟" in listed


@pytest.mark.parametrize("fields,message", [
    ({"name": ""}, "Enter the customer's name."),
    ({"name": "n" * 121}, "Enter at most 120 characters."),
    ({"phone": "call me maybe"}, "Enter a phone number"),
    ({"phone": "+1"}, "Enter a phone number"),
    ({"language": "fr"}, "Choose English or Chinese."),
    ({"account": "999999"}, "There is no such account."),
    ({"account": "acme"}, "Choose an entry from the list."),
])
def test_bad_contact_edits_are_refused(client, signed_in, make_contact, fields, message):
    person = make_contact("Ada", email="ada@example.com", phone="123 456")
    signed_in("admin")
    data = {"csrf_token": client.csrf_token, "name": "Ada L", "phone": "", "company": "",
            "language": "", "account": "", **fields}
    response = client.post(f"/console/customers/{person.id}/edit", data=data)
    assert response.status_code == 400
    assert message in html.unescape(text_of(response))
    db.session.expire_all()
    person = db.session.get(Contact, person.id)
    assert (person.name, person.phone) == ("Ada", "123 456")


def test_contact_edit_refuses_posts_without_csrf(client, signed_in, make_contact):
    person = make_contact("Ada", email="ada@example.com")
    signed_in("admin")
    response = client.post(f"/console/customers/{person.id}/edit", data={"name": "Eve"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Contact, person.id).name == "Ada"


# ---- the picker fragment ----

def test_the_search_fragment_lists_radio_items(client, signed_in, people):
    signed_in("agent")
    response = client.get("/console/customers/search", query_string={"q": "王"})
    body = text_of(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert body.count("<li>") == 1
    assert f'name="contact_id" id="contact-{people["wang"].id}" value="{people["wang"].id}"' \
        in body
    assert "<html" not in body
    assert "No customer matches" in text_of(client.get("/console/customers/search?q=zzz"))
    assert text_of(client.get("/console/customers/search?q=")).strip() == ""


# ---- on PostgreSQL (collation, ILIKE on Chinese, NUL bytes) ----

@pytest.mark.integration
def test_search_and_paging_on_postgresql(pg_app, make_user, console_login):
    client = pg_app.test_client()
    console_login(client, make_user("agent"))
    account = create_account("长城科技", tier="vip", domains=["greatwall.test"])
    db.session.add_all([Contact(name=f"王{number:02d}", email=f"w{number}@greatwall.test",
                                account_id=account.id) for number in range(55)])
    db.session.add(Contact(name="Caller", phone="+86 138-0013-8000"))
    db.session.commit()
    first = client.get("/console/customers", query_string={"q": "王"})
    body = text_of(first)
    assert first.status_code == 200 and body.count(">王") == 50
    link = body.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert text_of(client.get(link)).count(">王") == 5
    assert "Caller" in text_of(client.get("/console/customers?q=%2B86+138-0013-8000"))
    assert text_of(client.get("/console/customers?q=长城")).count(">王") == 50
    for query in ("a\u0000b", "%_\\"):
        assert client.get("/console/customers", query_string={"q": query}).status_code == 200
        assert client.get("/console/accounts", query_string={"q": query}).status_code == 200
    accounts = text_of(client.get("/console/accounts?q=GREATWALL&tier=vip"))
    assert "长城科技" in accounts and '<td class="num">55</td>' in accounts
