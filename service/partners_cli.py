"""`flask partners …`: integration (partner) users and their API tokens."""
from __future__ import annotations

import re
import secrets

import click
from flask.cli import with_appcontext

from service import audit


@click.group("partners")
def partners_cli() -> None:
    """Manage partner integrations (tokens that create and read their own tickets)."""


@partners_cli.command("create")
@click.argument("name")
@click.option("--email", default=None,
              help="A contact address for the partner (default: a generated one).")
@with_appcontext
def create_partner_command(name: str, email: str | None) -> None:
    """Create a partner user (no password: no console login) and print its API token.

    The token is the last line printed. More tokens: `flask tokens create <email>`.
    """
    from service.auth.services import create_user, issue_token
    from service.cli import _committed

    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise click.ClickException("NAME must be 1-120 characters.")
    with _committed():
        user = create_user(email or _placeholder_email(name), "partner", None, name)
        token = issue_token(user, name=f"partner {name}")
        audit.record("api_token.create", object_type="api_token", object_id=user.tokens[-1].id,
                     changes={"user_id": [None, user.id], "name": [None, f"partner {name}"]})
    click.echo(f"created partner {user.name} {user.email} (id {user.id})")
    click.echo("its API token is shown once, store it now:")
    click.echo(token)


def _placeholder_email(name: str) -> str:
    # Users need a unique address; `.invalid` can never receive mail (RFC 2606).
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "partner"
    return f"{slug}-{secrets.token_hex(4)}@partners.invalid"
