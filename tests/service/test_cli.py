"""The CLI an operator uses: users, tokens, demo data, sweeps."""
from __future__ import annotations

from sqlalchemy import func, select

from service.auth.models import User
from service.extensions import db
from tickets.models import Status, Ticket


def test_users_create_and_token(runner, client, support_team):
    result = runner.invoke(args=["users", "create", "Ops@Example.com", "--role", "lead",
                                 "--password", "long-enough", "--name", "Olga",
                                 "--team", "Support"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ops@example.com"))
    assert (user.role.value, user.name) == ("lead", "Olga")
    assert user in support_team.members
    assert user.password_hash and "long-enough" not in user.password_hash
    result = runner.invoke(args=["tokens", "create", "ops@example.com"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    response = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_users_create_rejects_bad_input(runner):
    cases = [
        ["users", "create", "x@example.com", "--role", "boss", "--password", "long-enough"],
        ["users", "create", "not-an-email", "--role", "agent", "--password", "long-enough"],
        ["users", "create", "x@example.com", "--role", "agent", "--password", "short"],
        ["users", "create", "x@example.com", "--role", "agent", "--password", "long-enough",
         "--team", "Nope"],
    ]
    for args in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    runner.invoke(args=["users", "create", "x@example.com", "--role", "agent",
                        "--password", "long-enough"])
    again = runner.invoke(args=["users", "create", "X@example.com", "--role", "agent",
                                "--password", "long-enough"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_tokens_create_for_unknown_user(runner):
    result = runner.invoke(args=["tokens", "create", "ghost@example.com"])
    assert result.exit_code != 0 and "no user with email" in result.output


def test_demo_load_is_idempotent_and_covers_every_state(runner):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "admin@demo.loopdesk.dev" in first.output
    tickets = db.session.scalar(select(func.count()).select_from(Ticket))
    users = db.session.scalar(select(func.count()).select_from(User))
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == tickets
    assert db.session.scalar(select(func.count()).select_from(User)) == users
    states = set(db.session.scalars(select(Ticket.status)))
    assert states == set(Status)
    assert db.session.scalar(select(func.count()).select_from(Ticket)
                             .where(Ticket.assignee_id.is_not(None))) >= 10


def test_sweep_command(runner):
    result = runner.invoke(args=["sweep", "sla"])
    assert result.exit_code == 0 and "sla sweep done" in result.output
    assert runner.invoke(args=["sweep", "nope"]).exit_code == 2


def test_teams_accounts_and_agents_from_the_cli(runner, make_ticket):
    from service.directory.models import Account, Team
    from tickets.models import Priority

    for args in (["users", "create", "lead@x.test", "--role", "lead", "--password", "long-enough"],
                 ["users", "create", "rep@x.test", "--role", "sales", "--password", "long-enough"],
                 ["teams", "create", "Field service", "--name-zh", "现场服务", "--lead",
                  "lead@x.test", "--default"],
                 ["accounts", "create", "Acme", "--tier", "vip", "--sales-owner", "rep@x.test",
                  "--dedicated-agent", "lead@x.test", "--product", "Router", "--product", "Mesh",
                  "--domain", "Acme.example"],
                 ["agents", "set", "lead@x.test", "--capacity", "5", "--skill", "zh",
                  "--skill", "routers", "--availability", "available"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output)
    team = db.session.scalar(select(Team).where(Team.name == "Field service"))
    assert team.is_default and team.lead.email == "lead@x.test" and team.name_zh == "现场服务"
    assert db.session.scalar(select(func.count()).select_from(Team)
                             .where(Team.is_default.is_(True))) == 1
    account = db.session.scalar(select(Account).where(Account.name == "Acme"))
    assert account.tier.value == "vip" and account.sales_owner.email == "rep@x.test"
    assert [p.product for p in account.products] == ["Mesh", "Router"]
    lead = db.session.scalar(select(User).where(User.email == "lead@x.test"))
    assert lead.max_open_tickets == 5 and sorted(s.name for s in lead.skills) == ["routers", "zh"]
    assert [d.domain for d in account.domains] == ["acme.example"]
    ticket = make_ticket(customer_email="it@acme.example")
    assert ticket.team_id == team.id and ticket.assignee_id == lead.id
    assert ticket.priority == Priority.HIGH  # VIP +1


def test_directory_cli_rejects_bad_input(runner):
    runner.invoke(args=["teams", "create", "Ops"])
    cases = [["teams", "create", "Ops"], ["teams", "create", " "],
             ["teams", "create", "X", "--lead", "ghost@x.test"],
             ["accounts", "create", "Y", "--tier", "gold"],
             ["accounts", "create", "Y", "--product", "p" * 81],
             ["accounts", "create", "Y", "--domain", "qq.com"],
             ["accounts", "create", "Y", "--domain", "not a domain"],
             ["agents", "set", "ghost@x.test", "--capacity", "3"],
             ["agents", "set", "ghost@x.test", "--capacity", "-3"]]
    for args in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output
