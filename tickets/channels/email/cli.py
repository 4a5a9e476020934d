"""`flask --app wsgi mailboxes …`: mailboxes, their inbound secrets and IMAP polling.

Neither secrets nor passwords are ever taken as arguments (they would land in shell history
and `ps`) or printed, except a new inbound secret, once, as the last line.
"""
from __future__ import annotations

import os

import click
from flask.cli import with_appcontext

from service.cli import _committed
from service.errors import DomainError
from service.extensions import db
from tickets.channels.email import mailboxes
from tickets.channels.email.models import Mailbox


@click.group("mailboxes")
def mailboxes_cli() -> None:
    """Manage mailboxes: inbound secrets and IMAP polling."""


def _mailbox(name: str) -> Mailbox:
    try:
        return mailboxes.mailbox_by_name(name)
    except DomainError as error:
        raise click.ClickException(error.detail) from None


@mailboxes_cli.command("create")
@click.argument("name")
@click.argument("address")
@with_appcontext
def create_command(name: str, address: str) -> None:
    """Create a mailbox; its inbound secret is the last line printed."""
    with _committed():
        mailbox, secret = mailboxes.create_mailbox(name, address)
    click.echo(f"created mailbox {mailbox.name} <{mailbox.address}> (id {mailbox.id}); "
               "its inbound secret is shown once, store it now:")
    click.echo(secret)


@mailboxes_cli.command("imap")
@click.argument("name")
@click.option("--host", default=None, help="IMAP server (TLS on connect, e.g. port 993).")
@click.option("--port", type=int, default=None, help="Default 993.")
@click.option("--username", default=None)
@click.option("--password-env", "password_env", default=None, metavar="VAR_NAME",
              help="Read the password from this environment variable (else it is "
                   "prompted for, when none is stored yet or with --change-password).")
@click.option("--change-password", is_flag=True, help="Prompt for a new password.")
@click.option("--folder", default=None, help="Default INBOX.")
@click.option("--disable", is_flag=True, help="Stop polling (settings are kept).")
@with_appcontext
def imap_command(name: str, host: str | None, port: int | None, username: str | None,
                 password_env: str | None, change_password: bool, folder: str | None,
                 disable: bool) -> None:
    """Set a mailbox's IMAP settings and switch polling on (or off with --disable)."""
    mailbox = _mailbox(name)
    settings: dict = {"enabled": not disable}
    for field, value in (("host", host), ("port", port), ("username", username),
                         ("folder", folder)):
        if value is not None:
            settings[field] = value
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise click.ClickException(f"the environment variable {password_env} is not set")
        settings["password"] = password
    elif change_password or (mailbox.imap_password_encrypted is None and len(settings) > 1):
        settings["password"] = click.prompt("IMAP password", hide_input=True)
    with _committed():
        mailboxes.update_mailbox(mailbox, imap=settings)
    click.echo(f"{mailbox.name}: {_imap_line(mailbox)}")


@mailboxes_cli.command("rotate-secret")
@click.argument("name")
@with_appcontext
def rotate_secret_command(name: str) -> None:
    """Replace a mailbox's inbound secret (the old one stops working); printed last."""
    mailbox = _mailbox(name)
    with _committed():
        secret = mailboxes.rotate_secret(mailbox)
    click.echo(f"new inbound secret for {mailbox.name}; the old one no longer works. "
               "It is shown once, store it now:")
    click.echo(secret)


@mailboxes_cli.command("list")
@with_appcontext
def list_command() -> None:
    """Every mailbox with its IMAP state (never a secret or password)."""
    rows = mailboxes.list_mailboxes()
    if not rows:
        click.echo("no mailboxes")
    for mailbox in rows:
        state = "active" if mailbox.is_active else "inactive"
        click.echo(f"{mailbox.id}  {mailbox.name} <{mailbox.address}> {state}, "
                   f"secret {mailbox.secret_prefix}…; {_imap_line(mailbox)}")
        if mailbox.last_polled_at is not None:
            click.echo(f"    last polled {mailbox.last_polled_at.isoformat(timespec='seconds')}"
                       + (f": {mailbox.last_poll_error}" if mailbox.last_poll_error else ": ok"))


@mailboxes_cli.command("poll")
@click.argument("name")
@with_appcontext
def poll_command(name: str) -> None:
    """Poll one mailbox now, in this process, and print what it fetched."""
    from tickets.channels.email.imap import poll

    mailbox = _mailbox(name)
    stats = poll(mailbox.id)
    db.session.commit()
    if stats.error:
        raise click.ClickException(f"{name}: {stats}")
    click.echo(f"{name}: {stats}")


def _imap_line(mailbox: Mailbox) -> str:
    if mailbox.imap_host is None:
        return "IMAP not configured"
    return (f"IMAP {'on' if mailbox.imap_enabled else 'off'} "
            f"{mailbox.imap_username}@{mailbox.imap_host}:{mailbox.imap_port} "
            f"folder {mailbox.imap_folder}, password "
            f"{'set' if mailbox.imap_password_encrypted else 'not set'}")
