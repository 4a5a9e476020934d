"""Command-line interface: `flask --app wsgi <command>`."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select

from service import audit, jobs
from service.auth.models import User
from service.errors import DomainError
from service.extensions import db


@contextmanager
def _committed() -> Iterator[None]:
    """Commit what the block did; on a refused input, roll back and exit with its message."""
    try:
        yield
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        details = "; ".join(f"{field}: {' '.join(map(str, messages))}"
                            for field, messages in (error.errors or {}).items())
        raise click.ClickException(
            f"{error.detail}{' (' + details + ')' if details else ''}") from None


@click.group("users")
def users_cli() -> None:
    """Manage staff users."""


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True,
              type=click.Choice(["admin", "lead", "agent", "department", "sales"]))
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--name", default=None)
@click.option("--team", default=None, help="Name of an existing team to join.")
@with_appcontext
def create_user_command(email: str, role: str, password: str, name: str | None,
                        team: str | None) -> None:
    """Create a staff user."""
    from service.auth.services import create_user
    from service.directory.services import add_member, team_by_name

    with _committed():
        user = create_user(email, role, password, name)
        if team:
            add_member(team_by_name(team), user)
    click.echo(f"created {user.role} {user.email} (id {user.id})")


@click.group("tokens")
def tokens_cli() -> None:
    """Manage API tokens."""


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", default="cli", help="A label for the token.")
@with_appcontext
def create_token_command(email: str, name: str) -> None:
    """Create an API token for a user; the token is the last line printed."""
    from service.auth.services import issue_token

    user = _user(email)
    if not user.is_active:
        raise click.ClickException(f"{email} is disabled")
    token = issue_token(user, name=name)
    audit.record("api_token.create", object_type="api_token", object_id=user.tokens[-1].id,
                 changes={"user_id": [None, user.id], "name": [None, name]})
    db.session.commit()
    click.echo(f"token for {user.email} ({user.role}); it is shown once, store it now:")
    click.echo(token)


def _user(email: str) -> User:
    """The user with this email (any case), or a CLI error."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    return user


@click.group("teams")
def teams_cli() -> None:
    """Manage teams (departments)."""


@teams_cli.command("create")
@click.argument("name")
@click.option("--name-zh", default=None, help="The team's Chinese name.")
@click.option("--lead", "lead_email", default=None, help="Email of the team lead.")
@click.option("--default", "is_default", is_flag=True,
              help="Unrouted tickets go to this team.")
@with_appcontext
def create_team_command(name: str, name_zh: str | None, lead_email: str | None,
                        is_default: bool) -> None:
    """Create a team."""
    from service.directory.services import create_team

    with _committed():
        team = create_team(name, name_zh=name_zh, is_default=is_default,
                           lead=_user(lead_email) if lead_email else None)
    click.echo(f"created team {team.name} (id {team.id})")


@click.group("accounts")
def accounts_cli() -> None:
    """Manage customer accounts."""


@accounts_cli.command("create")
@click.argument("name")
@click.option("--tier", type=click.Choice(["standard", "vip"]), default="standard")
@click.option("--sales-owner", default=None, help="Email of the account's sales rep.")
@click.option("--dedicated-agent", default=None, help="Email of its dedicated support agent.")
@click.option("--product", "products", multiple=True, help="A product it owns (repeatable).")
@click.option("--domain", "domains", multiple=True,
              help="An email domain it controls; new contacts from it join (repeatable).")
@with_appcontext
def create_account_command(name: str, tier: str, sales_owner: str | None,
                           dedicated_agent: str | None, products: tuple[str, ...],
                           domains: tuple[str, ...]) -> None:
    """Create a customer account; new contacts writing from its domains join it."""
    from service.directory.services import create_account

    with _committed():
        account = create_account(
            name, tier=tier, products=list(products), domains=list(domains),
            sales_owner=_user(sales_owner) if sales_owner else None,
            dedicated_agent=_user(dedicated_agent) if dedicated_agent else None)
    click.echo(f"created {account.tier} account {account.name} (id {account.id})")


@click.group("agents")
def agents_cli() -> None:
    """Agents' availability, capacity and skills."""


@agents_cli.command("set")
@click.argument("email")
@click.option("--availability", type=click.Choice(["available", "away", "out_of_office"]))
@click.option("--capacity", type=click.IntRange(0, 1000), help="Max open tickets.")
@click.option("--skill", "skills", multiple=True, help="Replaces the skills (repeatable).")
@with_appcontext
def set_agent_command(email: str, availability: str | None, capacity: int | None,
                      skills: tuple[str, ...]) -> None:
    """Change an agent's availability, capacity or skills."""
    from service.directory.services import set_availability, set_capacity, set_skills

    user = _user(email)
    with _committed():
        if availability:
            set_availability(user, availability)
        if capacity is not None:
            set_capacity(user, capacity)
        if skills:
            set_skills(user, list(skills))
    click.echo(f"{user.email}: {user.availability}, capacity {user.max_open_tickets}, "
               f"skills {', '.join(s.name for s in user.skills) or '-'}")


@click.group("demo")
def demo_cli() -> None:
    """Demo data."""


@demo_cli.command("load")
@with_appcontext
def demo_load_command() -> None:
    """Load bilingual demo data (safe to run again)."""
    from service.demo import DEMO_LOGINS, load_demo

    app = current_app._get_current_object()
    # The jobs the demo causes (mails, signals, health) run before the command ends.
    with jobs.finished_before_return(app):
        summary = load_demo()
    click.echo(summary)
    click.echo("demo logins (email / password):")
    for email, password, role in DEMO_LOGINS:
        click.echo(f"  {role:<10} {email} / {password}")


@click.command("setup")
@with_appcontext
def setup_command() -> None:
    """Apply migrations and make sure default SLA policies, calendar and team exist."""
    from tickets.defaults import ensure_defaults

    upgrade(directory=current_app.config["MIGRATIONS_DIR"])
    ensure_defaults()
    db.session.commit()
    click.echo("database is up to date; defaults present")


@click.command("serve")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"))
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Serve the embedded mode: web app plus the in-process ticker thread."""
    from werkzeug.serving import run_simple

    from service.ticker import start_thread

    app: Flask = current_app._get_current_object()
    stop = start_thread(app)
    click.echo(f"Loopdesk (embedded mode) on http://{host}:{port}/  (Ctrl+C stops)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        stop.set()


@click.command("ticker")
@with_appcontext
def ticker_command() -> None:
    """Run the periodic ticker in the foreground (production: enqueues onto RQ)."""
    from service.ticker import run_forever

    app: Flask = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        click.echo("REDIS_URL is not set: sweeps run in this process", err=True)
    run_forever(app, threading.Event())


@click.command("sweep")
@click.argument("name", type=click.Choice(["sla", "assignment", "outbox", "loads", "imap",
                                          "chat", "tasks", "confirmations", "surveys",
                                          "nps", "recovery", "opportunities", "revisits",
                                          "health", "weekly-reports", "report-rollups"]))
@with_appcontext
def sweep_command(name: str) -> None:
    """Run one periodic task once, in this process (for cron)."""
    from service.ticker import periodic_tasks

    app: Flask = current_app._get_current_object()
    task = next(task for task in periodic_tasks(app) if task.name == name)
    task.job()
    click.echo(f"{name} sweep done")


def register_cli(app: Flask) -> None:
    """Attach every command group to the app."""
    for command in (users_cli, tokens_cli, teams_cli, accounts_cli, agents_cli, demo_cli,
                    setup_command, serve_command, ticker_command, sweep_command):
        app.cli.add_command(command)
    from service.partners_cli import partners_cli

    app.cli.add_command(partners_cli)
    from tickets.channels.email.cli import mailboxes_cli

    app.cli.add_command(mailboxes_cli)
    from knowledge_base.cli import kb_cli

    app.cli.add_command(kb_cli)
    from service.ops.checks import check_command

    app.cli.add_command(check_command)
    from service.privacy.cli import privacy_cli

    app.cli.add_command(privacy_cli)
    from service.reports.cli import reports_cli

    app.cli.add_command(reports_cli)
